/**
 * Features for the learned layer, computed from what the rules already derived for a post
 * (tokens, lexicon hits, complaint cues), so the model costs little on top of them.
 *
 * Sparse part, hashed into 2^bits slots (the "hashing trick": no vocabulary to ship):
 *   word unigrams (marked when inside a negation's clause), word bigrams, character n-grams of
 *   each word, hashtags, emoji, emoticons, and presence of a mention, a link, '!', '?'.
 * Dense part, after the hashed slots: the rule scores and lexicon sums, cue weights and which
 * complaint cues matched, shouting, elongation and length.
 *
 * Every hashed feature remembers the tokens it came from, so a decision can be explained in the
 * post's own words.
 */
import { CUE_CATEGORIES } from '../complaint';
import type { AnalysisContext } from '../index';
import { vocabularyLanguages } from '../lexicon';
import { isEnglishNegation, NEGATION_SCOPE, RULES } from '../rules';
import type { Token } from '../tokenize';

export interface FeatureSpec {
  /** Hashed slots = 2^bits. */
  bits: number;
  /** Character n-gram lengths taken from each word (padded with '<' and '>'), or [] for none. */
  charNgrams: readonly number[];
  /** Word bigrams on or off. */
  bigrams: boolean;
}

/** One post's features: parallel arrays, `n` entries used. */
export interface FeatureVector {
  index: Int32Array;
  value: Float32Array;
  /** First token the feature came from, or -1 for features of the whole post. */
  token: Int32Array;
  /** How many tokens from `token` on (1 for a word, 2 for a bigram). */
  span: Uint8Array;
  n: number;
}

/** Dense features, in slot order after the hashed ones. Names are written into the model file. */
export const DENSE_FEATURES = [
  'bias',
  'rule.score',
  'rule.positive',
  'rule.negative',
  'lexicon.positiveSum',
  'lexicon.negativeSum',
  'cues.sum',
  'rule.complaint',
  'directed',
  'directed.question',
  'caps',
  'elongated',
  'exclamations',
  'length',
  'situation.sarcasm',
  'situation.recovery',
  'situation.litotes',
  'aimed',
  ...CUE_CATEGORIES.map((c) => `cue.${c}` as const),
] as const;

export const denseOffset = (spec: FeatureSpec) => 1 << spec.bits;
type DenseName = (typeof DENSE_FEATURES)[number];
const DENSE_INDEX = new Map<string, number>(DENSE_FEATURES.map((name, i) => [name, i]));
export const dimensionOf = (spec: FeatureSpec) => (1 << spec.bits) + DENSE_FEATURES.length;

/** Hash of a second string continuing `h` (for bigrams without building the joined string). */
function hashOn(h: number, s: string): number {
  h = Math.imul(h ^ 0x20, 16777619);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** 32-bit FNV-1a over a type tag and a string. */
function hash(tag: number, s: string): number {
  let h = Math.imul(0x811c9dc5 ^ tag, 16777619);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const TAG_WORD = 1;
const TAG_NEGATED = 2;
const TAG_BIGRAM = 3;
const TAG_CHAR = 4;
const TAG_HASHTAG = 5;
const TAG_EMOJI = 6;
const TAG_EMOTICON = 7;
const TAG_FLAG = 8;
const TAG_LANGUAGE_WORD = 9;
/** A praise word read as irony (situation.ts): hashed apart from the same word meant sincerely. */
const TAG_IRONIC = 10;
const TAG_VOCABULARY = 11;

const UPPER_WORD_RE = /^[\p{Lu}]{2,}$/u;

/** A growable buffer for one post's features, reused from post to post (allocation is the cost). */
class Builder {
  index = new Int32Array(256);
  value = new Float32Array(256);
  token = new Int32Array(256);
  span = new Uint8Array(256);
  n = 0;
  mask = 0;

  reset(mask: number): this {
    this.n = 0;
    this.mask = mask;
    return this;
  }

  /** A hashed feature: `h` is folded into the hashed slots. */
  add(h: number, token: number, span: number, value = 1): void {
    this.addAt(h & this.mask, token, span, value);
  }

  /** A feature at a fixed slot. */
  addAt(slot: number, token: number, span: number, value: number): void {
    if (this.n === this.index.length) this.grow();
    const i = this.n++;
    this.index[i] = slot;
    this.value[i] = value;
    this.token[i] = token;
    this.span[i] = span;
  }

  private grow(): void {
    const size = this.index.length * 2;
    const index = new Int32Array(size);
    index.set(this.index);
    const value = new Float32Array(size);
    value.set(this.value);
    const token = new Int32Array(size);
    token.set(this.token);
    const span = new Uint8Array(size);
    span.set(this.span);
    Object.assign(this, { index, value, token, span });
  }
}

const scratch = new Builder();

/** A copy of a feature vector that outlives the next `extractFeatures` call (for training). */
export function copyFeatures(f: FeatureVector): FeatureVector {
  return { index: f.index.slice(0, f.n), value: f.value.slice(0, f.n), token: f.token.slice(0, f.n), span: f.span.slice(0, f.n), n: f.n };
}

/**
 * Computes the features of one post for its rule language. The result lives in a shared buffer:
 * it is valid until the next call (use copyFeatures to keep it).
 */
export function extractFeatures(ctx: AnalysisContext, spec: FeatureSpec): FeatureVector {
  const lang = ctx.ruleLang ?? 'en';
  const rules = RULES[lang];
  const tokens = ctx.tokens;
  const b = scratch.reset((1 << spec.bits) - 1);
  const useChars = spec.charNgrams.length > 0;

  let negLeft = 0;
  let prevHash = -1; // bigram hash begun with the last content token, or -1 after a boundary
  let prevIndex = -1;
  let caps = 0;
  let elongated = 0;
  let exclamations = 0;
  let words = 0;
  let mention = false;
  let url = false;
  let question = false;
  // Tokens of praise meant ironically (sarcasm) are hashed apart.
  let ironicTokens: Uint8Array | undefined;
  if (ctx.situation.kind === 'sarcasm' && ctx.situation.ironic.length) {
    ironicTokens = new Uint8Array(tokens.length);
    for (const h of ctx.situation.ironic) {
      const hit = ctx.sentiment.hits[h];
      if (!hit) continue;
      for (let t = hit.first; t <= hit.last && t < tokens.length; t++) ironicTokens[t] = 1;
    }
  }

  for (let i = 0; i < tokens.length; i++) {
    const t: Token = tokens[i];
    let norm: string | undefined;
    switch (t.kind) {
      case 'punct':
        negLeft = 0;
        prevHash = -1;
        for (let c = 0; c < t.text.length; c++) {
          const ch = t.text.charCodeAt(c);
          if (ch === 33) exclamations++;
          else if (ch === 63) question = true;
        }
        continue;
      case 'mention':
        mention = true;
        continue;
      case 'url':
        url = true;
        continue;
      case 'number':
        norm = '0';
        break;
      case 'hashtag':
        b.add(hash(TAG_HASHTAG, t.norm), i, 1);
        norm = t.norm;
        break;
      case 'emoji':
        b.add(hash(TAG_EMOJI, t.norm), i, 1);
        norm = t.norm;
        break;
      case 'emoticon':
        b.add(hash(TAG_EMOTICON, t.text), i, 1);
        norm = t.text;
        break;
      case 'word': {
        norm = t.norm;
        words++;
        if (t.elongated) elongated++;
        const c0 = t.text.charCodeAt(0);
        if (t.text.length > 1 && c0 !== norm.charCodeAt(0) && UPPER_WORD_RE.test(t.text)) caps++;
        const negator = rules.negators.has(norm) || (lang === 'en' && isEnglishNegation(norm));
        if (rules.contrast.has(norm)) negLeft = 0;
        b.add(hash(ironicTokens?.[i] ? TAG_IRONIC : negLeft > 0 ? TAG_NEGATED : TAG_WORD, norm), i, 1);
        if (negLeft > 0) negLeft--;
        if (negator) negLeft = NEGATION_SCOPE;
        if (useChars) addCharNgrams(b, norm, spec.charNgrams, i);
        break;
      }
    }
    if (spec.bigrams && norm !== undefined) {
      if (prevHash >= 0) b.add(hashOn(prevHash, norm), prevIndex, i - prevIndex + 1);
      prevHash = hash(TAG_BIGRAM, norm);
      prevIndex = i;
    }
  }
  if (mention) b.add(hash(TAG_FLAG, '@'), -1, 0);
  if (url) b.add(hash(TAG_FLAG, 'url'), -1, 0);
  if (exclamations) b.add(hash(TAG_FLAG, '!'), -1, 0);
  if (question) b.add(hash(TAG_FLAG, '?'), -1, 0);

  // Unit length for the hashed part: long reviews and short tweets weigh alike.
  const hashed = b.n;
  if (hashed > 0) {
    const scale = 1 / Math.sqrt(hashed);
    for (let k = 0; k < hashed; k++) b.value[k] *= scale;
  }

  const base = denseOffset(spec);
  const dense = (name: DenseName, value: number) => {
    if (value !== 0) b.addAt(base + DENSE_INDEX.get(name)!, -1, 0, value);
  };
  const s = ctx.sentiment;
  let positiveSum = 0;
  let negativeSum = 0;
  for (const h of s.hits) {
    if (h.value > 0) positiveSum += h.value;
    else negativeSum -= h.value;
  }
  const c = ctx.complaint;
  dense('bias', 1);
  dense('rule.score', s.score);
  dense('rule.positive', Math.max(0, s.score));
  dense('rule.negative', Math.max(0, -s.score));
  dense('lexicon.positiveSum', Math.tanh(positiveSum / 4));
  dense('lexicon.negativeSum', Math.tanh(negativeSum / 4));
  dense('cues.sum', Math.min(4, c.cueSum) / 4);
  dense('rule.complaint', c.score);
  dense('directed', c.directed ? 1 : 0);
  dense('directed.question', c.directed && c.question ? 1 : 0);
  dense('caps', words ? Math.min(1, caps / Math.max(3, words)) * 2 : 0);
  dense('elongated', elongated ? 1 : 0);
  dense('exclamations', Math.min(3, exclamations) / 3);
  dense('length', Math.log1p(words) / 5);
  const situation = ctx.situation.kind;
  dense('situation.sarcasm', situation === 'sarcasm' ? 1 : 0);
  dense('situation.recovery', situation === 'recovery' ? 1 : 0);
  dense('situation.litotes', situation === 'litotes' ? 1 : 0);
  dense('aimed', ctx.situation.aimed ? 1 : 0);
  const cueBase = base + DENSE_INDEX.get(`cue.${CUE_CATEGORIES[0]}`)!;
  for (let m = c.cueMask, bit = 0; m !== 0; m >>>= 1, bit++) if (m & 1) b.addAt(cueBase + bit, -1, 0, 1);

  return { index: b.index, value: b.value, token: b.token, span: b.span, n: b.n };
}

/**
 * Features for telling English from Dutch: words and their character n-grams, plus a bias in the
 * first dense slot. Needs only tokens, so it runs before any rule. Shares the scratch buffer.
 */
export function extractLanguageFeatures(tokens: readonly Token[], spec: FeatureSpec): FeatureVector {
  const b = scratch.reset((1 << spec.bits) - 1);
  const vocab = vocabularyLanguages();
  let enOnly = 0;
  let nlOnly = 0;
  let words = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind !== 'word' && t.kind !== 'hashtag') continue;
    words++;
    const known = vocab.get(t.norm);
    if (known === 1) enOnly++;
    else if (known === 2) nlOnly++;
    b.add(hash(TAG_LANGUAGE_WORD, t.norm), i, 1);
    if (spec.charNgrams.length) addCharNgrams(b, t.norm, spec.charNgrams, i);
  }
  if (b.n > 0) {
    const scale = 1 / Math.sqrt(b.n);
    for (let k = 0; k < b.n; k++) b.value[k] *= scale;
  }
  // Words known in one language only, as counts (not diluted by the number of n-grams).
  if (enOnly) b.add(hash(TAG_VOCABULARY, 'en'), -1, 0, Math.min(4, enOnly) / 2);
  if (nlOnly) b.add(hash(TAG_VOCABULARY, 'nl'), -1, 0, Math.min(4, nlOnly) / 2);
  if (words) b.add(hash(TAG_VOCABULARY, 'share'), -1, 0, (enOnly - nlOnly) / words);
  b.addAt(denseOffset(spec), -1, 0, 1);
  return { index: b.index, value: b.value, token: b.token, span: b.span, n: b.n };
}

/** Character codes of '<word>', reused between words. */
let codes = new Uint16Array(64);

/** Hashes every n-gram of each requested length of '<word>' (codes read once per word). */
function addCharNgrams(b: Builder, word: string, lengths: readonly number[], token: number): void {
  const len = word.length + 2;
  if (codes.length < len) codes = new Uint16Array(len * 2);
  codes[0] = 60; // '<'
  for (let i = 0; i < word.length; i++) codes[i + 1] = word.charCodeAt(i);
  codes[len - 1] = 62; // '>'
  for (const n of lengths) {
    const seed = Math.imul(0x811c9dc5 ^ (TAG_CHAR + n * 16), 16777619);
    for (let k = 0; k + n <= len; k++) {
      let h = seed;
      for (let j = k; j < k + n; j++) h = Math.imul(h ^ codes[j], 16777619);
      b.add(h >>> 0, token, 1);
    }
  }
}
