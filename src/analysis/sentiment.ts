/**
 * Rule-based sentiment in the spirit of VADER: lexicon valences (AFINN scale) adjusted by
 * clause-limited negation, contrast, degree words, ALL-CAPS, elongation and '!', summed and
 * squashed to -1..1.
 */
import type { SentimentLabel } from './judgement';
import { lexiconFor, type Lexicon } from './lexicon';
import { EMOJI_VALENCE, emoticonValence } from './lexicons/repwatch';
import { isEnglishNegation, NEGATION_SCOPE, RULES, type RuleLang } from './rules';
import type { Token } from './tokenize';

export interface SentimentHit {
  /** The words as written in the post ("not good", "😡"). */
  surface: string;
  /** Contribution after all rules (AFINN scale). */
  value: number;
  /** Token range the hit covers (a negator included), for explanations. */
  first: number;
  last: number;
}

export interface SentimentResult {
  label: SentimentLabel;
  /** -1..1 */
  score: number;
  /** 0..1 */
  confidence: number;
  /** Weighted valence sum before squashing. */
  sum: number;
  hits: SentimentHit[];
  /** Word tokens looked at, and how many of them carried sentiment. */
  words: number;
  covered: number;
}

/** Tunable constants (set on the dev data, see the analysis report). */
export const SENTIMENT_PARAMS = {
  /** score = sum / sqrt(sum² + alpha) */
  alpha: 15,
  /** Per language: score ≥ positive → positive; score ≤ -negative → negative; else neutral. */
  thresholds: {
    en: { positive: 0.35, negative: 0.15 },
    nl: { positive: 0.15, negative: 0.1 },
  } as Record<RuleLang, { positive: number; negative: number }>,
  /** Negated valence multipliers: a negated positive turns negative, a negated negative turns mildly positive. */
  negatePositive: -0.74,
  negateNegative: -0.5,
  /** Clause before "but"/"maar" counts this much; the clause after it this much. */
  beforeContrast: 0.5,
  afterContrast: 1.5,
  caps: 1.3,
  elongation: 1.15,
  /** Added to |sum| per '!' (at most 4). */
  exclamation: 0.3,
  /** Long texts collect many weak hits: the sum is divided by (words / lengthRef)^lengthExp beyond lengthRef words. */
  lengthRef: 20,
  lengthExp: 0,
  /** Complaint cues ("still hasn't arrived") make a post negative even without sentiment words: sum -= this × cue weight. */
  complaintCues: 0.8,
  /** Cue weight counted at most this much. */
  complaintCuesMax: 3,
  /** Hashtag words count this much (#fail, #love; often topic tags). */
  hashtag: 0.75,
  /** Posts with a link are often headlines or shares: the sum is multiplied by this. */
  withUrl: 0.5,
};

const LOWERCASE_RE = /\p{Ll}/u;
const UPPERCASE_WORD_RE = /^[\p{Lu}\p{M}'’-]{2,}$/u;
/** English "like" is a verb of liking only after these; otherwise it is a preposition or filler. */
const LIKE_CONTEXT = new Set([
  'i', 'we', 'you', 'they', 'u', 'people', 'really', 'totally', 'definitely', 'also', 'just', 'still', 'do', 'does',
  'did', "don't", 'dont', "didn't", 'didnt', "doesn't", 'doesnt', 'truly', 'so', 'much', 'not', 'never',
]);

/** A neutral, low-confidence result for languages without a lexicon. */
export function neutralSentiment(confidence = 0.2): SentimentResult {
  return { label: 'neutral', score: 0, confidence, sum: 0, hits: [], words: 0, covered: 0 };
}

/** Index of the next word token after i, or -1. */
function nextWord(tokens: readonly Token[], i: number): number {
  for (let j = i + 1; j < tokens.length; j++) {
    const k = tokens[j].kind;
    if (k === 'word') return j;
    if (k === 'punct') return -1;
  }
  return -1;
}

/** Matches a lexicon phrase starting at word token i; returns [lastTokenIndex, valence] or undefined. */
function matchPhrase(lex: Lexicon, tokens: readonly Token[], i: number): [number, number] | undefined {
  const list = lex.phrases.get(tokens[i].norm);
  if (!list) return undefined;
  outer: for (const [rest, value] of list) {
    let j = i;
    for (const w of rest) {
      j++;
      if (j >= tokens.length || tokens[j].kind !== 'word' || tokens[j].norm !== w) continue outer;
    }
    return [j, value];
  }
  return undefined;
}

/**
 * Scores a tokenised post with the rules of one language ('en' or 'nl'). `complaintCues` is the
 * cue weight `findComplaintCues` found (0 when unknown).
 */
export function scoreSentiment(text: string, tokens: readonly Token[], lang: RuleLang, complaintCues = 0): SentimentResult {
  const P = SENTIMENT_PARAMS;
  const lex = lexiconFor(lang);
  const rules = RULES[lang];
  const capsMatter = LOWERCASE_RE.test(text); // an all-caps post shouts everywhere, so caps say nothing
  const hits: SentimentHit[] = [];

  let sum = 0;
  let words = 0;
  let covered = 0;
  let exclamations = 0;
  let hasUrl = false;
  let clauseWeight = 1;
  let negLeft = 0; // words still inside the current negation's scope
  let negStart = 0; // where the negator starts, to quote "not good" as evidence
  let negToken = 0;
  let degree = 1;
  let degreeLeft = 0;

  const add = (value: number, surface: string, first: number, last = first) => {
    sum += value;
    hits.push({ surface, value, first, last });
  };

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    switch (t.kind) {
      case 'punct':
        // A clause boundary ends negation and degree scope.
        negLeft = 0;
        degreeLeft = 0;
        for (let c = 0; c < t.text.length; c++) if (t.text.charCodeAt(c) === 33 /* ! */) exclamations++;
        continue;
      case 'emoji': {
        const v = EMOJI_VALENCE[t.norm];
        if (v) add(v * clauseWeight, t.text, i);
        continue;
      }
      case 'emoticon': {
        const v = emoticonValence(t.text);
        if (v) add(v * clauseWeight, t.text, i);
        continue;
      }
      case 'hashtag': {
        const v = lex.lookup(t.norm);
        if (v) add(v * P.hashtag * clauseWeight, t.text, i);
        continue;
      }
      case 'url':
        hasUrl = true;
        continue;
      case 'word':
        break;
      default:
        continue;
    }

    words++;
    const w = t.norm;
    if (rules.contrast.has(w)) {
      // "good food, but rude staff": what follows the contrast decides.
      sum *= P.beforeContrast;
      for (const h of hits) h.value *= P.beforeContrast;
      clauseWeight = P.afterContrast;
      negLeft = 0;
      degreeLeft = 0;
      continue;
    }

    let last = i;
    let value: number | undefined;
    const phrase = matchPhrase(lex, tokens, i);
    if (phrase) {
      [last, value] = phrase;
      words += last - i;
    } else if (rules.negators.has(w) || (lang === 'en' && isEnglishNegation(w))) {
      negLeft = NEGATION_SCOPE;
      negStart = t.start;
      negToken = i;
      continue;
    } else {
      const d = rules.degree.get(w);
      if (d !== undefined) {
        // A degree word with its own valence ("super", "erg") only boosts when a sentiment word follows.
        const own = lex.lookup(w);
        const n = nextWord(tokens, i);
        if (!own || (n >= 0 && lex.lookup(tokens[n].norm))) {
          degree = d;
          degreeLeft = 2;
          if (negLeft > 0) negLeft--;
          continue;
        }
      }
      value = lex.lookup(w);
      if (value && lang === 'en' && w === 'like') {
        const prev = i > 0 && tokens[i - 1].kind === 'word' ? tokens[i - 1].norm : '';
        if (!LIKE_CONTEXT.has(prev)) value = 0;
      }
    }

    if (!value) {
      if (negLeft > 0) negLeft--;
      if (degreeLeft > 0) degreeLeft--;
      i = last;
      continue;
    }

    covered++;
    let v = value;
    if (degreeLeft > 0) v *= degree;
    if (capsMatter && UPPERCASE_WORD_RE.test(t.text)) v *= P.caps;
    if (t.elongated) v *= P.elongation;
    let from = t.start;
    let first = i;
    if (negLeft > 0) {
      // A negator turns the first sentiment word in its reach ("not very good", "geen goede service").
      v *= v > 0 ? P.negatePositive : P.negateNegative;
      from = negStart;
      first = negToken;
      negLeft = 0;
    }
    add(v * clauseWeight, text.slice(from, tokens[last].end), first, last);
    degreeLeft = 0;
    i = last;
  }

  if (sum !== 0 && exclamations > 0) sum += Math.sign(sum) * Math.min(4, exclamations) * P.exclamation;
  if (P.lengthExp && words > P.lengthRef) sum /= Math.pow(words / P.lengthRef, P.lengthExp);
  if (hasUrl) sum *= P.withUrl;
  if (complaintCues > 0) sum -= P.complaintCues * Math.min(P.complaintCuesMax, complaintCues);
  const score = sum / Math.sqrt(sum * sum + P.alpha);
  const th = P.thresholds[lang];
  const label: SentimentLabel = score >= th.positive ? 'positive' : score <= -th.negative ? 'negative' : 'neutral';
  return { label, score: round3(score), confidence: confidenceOf(label, score, words, covered, th), sum, hits, words, covered };
}

/**
 * The same result with some hits read the other way round (praise meant ironically counts as
 * negative): their values change sign, the sum moves by the difference, label and score follow.
 */
export function withFlippedHits(result: SentimentResult, indexes: readonly number[], lang: RuleLang): SentimentResult {
  if (indexes.length === 0) return result;
  // Same literal shape as scoreSentiment's hits (a spread copy would be another hidden class).
  const hits: SentimentHit[] = result.hits.map((h) => ({ surface: h.surface, value: h.value, first: h.first, last: h.last }));
  let sum = result.sum;
  for (const i of indexes) {
    const h = hits[i];
    if (!h || h.value <= 0) continue;
    sum -= 2 * h.value;
    h.value = -h.value;
  }
  const score = sum / Math.sqrt(sum * sum + SENTIMENT_PARAMS.alpha);
  const th = SENTIMENT_PARAMS.thresholds[lang];
  const label: SentimentLabel = score >= th.positive ? 'positive' : score <= -th.negative ? 'negative' : 'neutral';
  // The same literal shape scoreSentiment returns (a spread copy would be another hidden class).
  return { label, score: round3(score), confidence: confidenceOf(label, score, result.words, result.covered, th), sum, hits, words: result.words, covered: result.covered };
}

/**
 * Confidence: for a polar label, how far past the threshold the score is and how much of the text
 * the lexicon covered; for neutral, how little sentiment there was in how much text.
 */
function confidenceOf(label: SentimentLabel, score: number, words: number, covered: number, th: { positive: number; negative: number }): number {
  if (words === 0) return label === 'neutral' ? 0.3 : 0.5;
  const coverage = Math.min(1, (covered / words) * 4);
  if (label === 'neutral') {
    const band = score >= 0 ? th.positive : th.negative;
    return round3(0.35 + 0.35 * (1 - Math.abs(score) / band) * Math.min(1, words / 6));
  }
  return round3(Math.min(0.95, 0.3 + 0.45 * Math.abs(score) + 0.25 * coverage));
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The strongest hits of one polarity, quoted as written, strongest first, without repeats. */
export function topEvidence(hits: readonly SentimentHit[], sign: 1 | -1, max = 5): string[] {
  const out: string[] = [];
  if (hits.length === 0) return out;
  const sorted = hits.filter((h) => Math.sign(h.value) === sign).sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  for (const h of sorted) {
    if (out.length >= max) break;
    if (!out.some((o) => o.toLowerCase() === h.surface.toLowerCase())) out.push(h.surface);
  }
  return out;
}
