/**
 * Language decision: the platform's tag when it names a language; otherwise a fast vote of
 * function words (decisive for most posts), and tinyld for the rest. Too little text, or a close
 * call, gives 'und'.
 */
import type { Token } from './tokenize';

export interface LanguageResult {
  /** 'nl' | 'en' | 'fr' | 'de' | another ISO code from a hint | 'und'. */
  lang: string;
  confidence: number;
  /** What decided: the hint, the function-word vote, the learned English/Dutch model, tinyld, or too little text. */
  source: 'hint' | 'stopwords' | 'model' | 'tinyld' | 'short';
  /** When lang is 'und': 'en' or 'nl' if the function words leaned that way. */
  lean?: 'en' | 'nl';
}

export const DETECTED_LANGS = ['nl', 'en', 'fr', 'de'] as const;
type DetectedLang = (typeof DETECTED_LANGS)[number];

/** Platform tags that say "no language" (Twitter/X: qme media only, qam mentions only, qht hashtags only, ...). */
const NO_LANGUAGE_TAGS = new Set(['und', 'zxx', 'qme', 'qam', 'qht', 'qct', 'qst', 'mul', 'mis']);
const TAG_RE = /^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$/i;

/** The ISO code a platform tag stands for ('en-GB' → 'en'), or undefined when it carries no language. */
export function languageFromHint(hint: string | undefined): string | undefined {
  if (!hint) return undefined;
  const m = TAG_RE.exec(hint.trim());
  if (!m) return undefined;
  const code = m[1].toLowerCase();
  if (NO_LANGUAGE_TAGS.has(code)) return undefined;
  // ISO 639-2 codes some sources use for the languages repwatch knows.
  switch (code) {
    case 'nld':
    case 'dut':
      return 'nl';
    case 'eng':
      return 'en';
    case 'fra':
    case 'fre':
      return 'fr';
    case 'deu':
    case 'ger':
      return 'de';
  }
  return code;
}

// Frequent function words that are (nearly) unique to one of the four languages. Words shared
// between them ("in", "is", "was", "die", "de", "en", "we", "me", "an", "so") are left out.
export const STOPWORDS: Readonly<Record<DetectedLang, readonly string[]>> = {
  en: [
    'the', 'and', 'are', 'to', 'of', 'on', 'for', 'with', 'my', 'your', 'you', 'i', "i'm", 'im', 'it', "it's", 'this',
    'that', 'have', 'has', 'not', 'be', 'at', 'they', 'our', 'from', 'what', 'why', 'how', 'just', 'can', 'will', 'do',
    "don't", 'no', 'get', 'been', 'or', 'all', 'there', 'when', 'would', 'out', 'up', 'about', 'please', 'thanks',
    'thank', 'were', 'a', 'if', 'she', 'he', 'his', 'her', 'their', 'them', 'than', 'then', 'only', 'any',
    'again', 'still', 'now', 'got', 'did', "can't", "didn't", 'should', 'could', 'more', 'time', 'one', 'like',
    'who', 'which', 'by', 'yes', 'as', 'us', 'these', 'those', 'after', 'into', 'because', 'today', 'really',
    'good', 'great', 'love', 'new', 'know', 'need', 'want', 'going', 'being', 'way', 'back', 'never', 'people',
  ],
  nl: [
    'het', 'een', 'van', 'op', 'te', 'dat', 'niet', 'met', 'voor', 'zijn', 'er', 'maar', 'ook', 'als', 'bij', 'nog',
    'om', 'dan', 'wel', 'geen', 'wat', 'naar', 'ik', 'je', 'jij', 'jullie', 'wij', 'ze', 'zij', 'hij',
    'mijn', 'onze', 'ons', 'heb', 'heeft', 'hebben', 'wordt', 'worden', 'kan', 'kunnen', 'moet', 'moeten', 'zou',
    'deze', 'dit', 'aan', 'uit', 'tot', 'nu', 'hoe', 'waarom', 'echt', 'heel', 'erg', 'zeer', 'weer',
    'nooit', 'niets', 'omdat', 'want', 'toch', 'gewoon', 'veel', 'meer', 'goed', 'mij', 'jouw', 'uw', 'hun',
    'worden', 'waren', 'werd', 'zijn', 'zelf', 'alleen', 'altijd', 'zonder', 'tegen', 'na', 'wij', 'hebt', 'ben',
    'bent', 'gaat', 'gaan', 'komt', 'moet', 'vandaag', 'morgen', 'bedankt', 'dank', 'goede', 'waar', 'zo', 'al',
    'kunt', 'wil', 'willen', 'eigen', 'jaar', 'mensen', 'nieuwe', 'nederland', 'kabinet', 'daar', 'hier', 'eens',
  ],
  fr: [
    'le', 'la', 'les', 'des', 'du', 'et', 'est', 'une', 'un', 'pour', 'pas', 'que', 'qui', 'je', 'tu', 'il', 'elle',
    'nous', 'vous', 'ce', 'cette', 'avec', 'dans', 'sur', 'mais', 'très', "c'est", "j'ai", "n'est", 'ne', 'sont',
    'au', 'aux', 'mon', 'ma', 'mes', 'votre', 'vos', 'merci', 'bonjour', 'plus', 'tout', 'fait', 'été', 'être',
    'avoir', 'où', 'quand', 'comme', 'aussi', 'bien', 'ça', 'toujours', 'encore', 'chez', 'leur', 'depuis',
  ],
  de: [
    'der', 'das', 'und', 'ist', 'nicht', 'ein', 'eine', 'einen', 'ich', 'du', 'sie', 'wir', 'mit', 'für', 'auf',
    'den', 'dem', 'des', 'von', 'zu', 'sehr', 'aber', 'auch', 'es', 'bei', 'im', 'zum', 'zur', 'dass', 'mein',
    'meine', 'kein', 'keine', 'schon', 'hat', 'habe', 'haben', 'sind', 'wird', 'werden', 'kann', 'nur', 'noch',
    'immer', 'danke', 'bitte', 'ihr', 'ihre', 'euch', 'uns', 'nach', 'wenn', 'oder', 'mehr', 'gibt', 'jetzt',
    'heute', 'warum', 'will', 'wieder', 'bin', 'bist', 'seit', 'gut', 'über',
  ],
};

/** word → bitmask of languages it is a function word of (usually one). */
const STOP_INDEX = new Map<string, number>();
DETECTED_LANGS.forEach((lang, i) => {
  for (const w of STOPWORDS[lang]) STOP_INDEX.set(w, (STOP_INDEX.get(w) ?? 0) | (1 << i));
});

/** Below this many letter words the language is not decided from the text. */
export const MIN_WORDS = 3;

type TinyLd = { detectAll(text: string, opts?: { only?: string[] }): { lang: string; accuracy: number }[] };
let tinyld: TinyLd | undefined;
const TINYLD_OPTS = { only: [...DETECTED_LANGS] };

function tinyldDetectAll(text: string): { lang: string; accuracy: number }[] {
  tinyld ??= require('tinyld') as TinyLd;
  return tinyld.detectAll(text, TINYLD_OPTS);
}

const counts = new Int32Array(DETECTED_LANGS.length);

/** A learned English-vs-Dutch call on a post's words: the likelier language and its probability. */
export type LanguageModel = (tokens: readonly Token[]) => { lang: 'en' | 'nl'; p: number };

/** How sure the learned model must be to decide; below it the post is 'und'. */
export const MODEL_DECIDES_AT = 0.9;
/** ... or this sure when a French or German function word stands among English or Dutch ones. */
export const STRAY_DECIDES_AT = 0.98;
/** ... or this sure when the post's one function word names the same language. */
export const MODEL_AGREES_AT = 0.6;
/**
 * Log-odds a brand's configured languages add for the one of English and Dutch it names when it
 * names only one of them (a Dutch-only brand: a post that could be either is Dutch).
 */
export const PRIOR_LOGIT = 2;
/**
 * Without a brand's languages, a close call leans this much (log-odds) to English: the learned
 * model weighs both languages alike, and most posts without a tag are English. A brand configured
 * for both leans to neither.
 */
export const DEFAULT_EN_LOGIT = 1;

/** Bitmask over DETECTED_LANGS of the languages a brand is configured for (0: no prior). */
function priorMask(prior: readonly string[] | undefined): number {
  if (!prior || prior.length === 0) return 0;
  let mask = 0;
  for (const p of prior) {
    const code = languageFromHint(p);
    const i = code ? DETECTED_LANGS.indexOf(code as DetectedLang) : -1;
    if (i >= 0) mask |= 1 << i;
  }
  return mask;
}
const NL_BIT = 1;
const EN_BIT = 2;
const FR_DE_BITS = 4 | 8;

/**
 * Detects the language of a tokenised post. `tokens` must come from `tokenize(text)`: URLs and
 * @mentions are ignored and hashtags count as their words. `prior` is the brand's configured
 * languages: function words that clearly name another language still win, but a close call
 * between English and Dutch leans to the configured one, and French or German need two of their
 * function words when the brand is configured for neither.
 */
export function detectLanguage(tokens: readonly Token[], hint?: string, model?: LanguageModel, prior?: readonly string[]): LanguageResult {
  const fromHint = languageFromHint(hint);
  if (fromHint) return { lang: fromHint, confidence: 0.9, source: 'hint' };

  counts.fill(0);
  let words = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind !== 'word' && t.kind !== 'hashtag') continue;
    words++;
    const mask = STOP_INDEX.get(t.norm);
    if (mask === undefined) continue;
    for (let l = 0; l < DETECTED_LANGS.length; l++) if (mask & (1 << l)) counts[l]++;
  }
  const allowed = priorMask(prior);
  // Leaning to one of English and Dutch the brand names alone: that is the lean when the words do not say.
  const priorLean: 'en' | 'nl' | undefined = (allowed & (EN_BIT | NL_BIT)) === EN_BIT ? 'en' : (allowed & (EN_BIT | NL_BIT)) === NL_BIT ? 'nl' : undefined;
  // en is index 1, nl index 0 in DETECTED_LANGS.
  const lean = counts[0] > counts[1] ? 'nl' : counts[1] > counts[0] ? 'en' : undefined;
  if (words < MIN_WORDS) return { lang: 'und', confidence: 0.1, source: 'short', lean: lean ?? priorLean ?? (words > 0 ? model?.(tokens).lang : undefined) };

  let best = 0;
  let second = -1;
  for (let l = 1; l < DETECTED_LANGS.length; l++) {
    if (counts[l] > counts[best]) {
      second = best;
      best = l;
    } else if (second < 0 || counts[l] > counts[second]) second = l;
  }
  const top = counts[best];
  const runnerUp = counts[second];
  // Decisive vote: at least two function words and well ahead of every other language.
  if (top >= 2 && top >= 3 * runnerUp + 1 - (top >= 4 ? 1 : 0) && top / words >= 0.15) {
    const margin = 1 - runnerUp / top;
    return { lang: DETECTED_LANGS[best], confidence: round2(Math.min(0.95, 0.55 + 0.1 * top) * (0.7 + 0.3 * margin)), source: 'stopwords' };
  }
  // A single function word and nothing for any other language: enough in short posts (for a
  // language the brand is not configured for, one word is not enough).
  const single = top === 1 && runnerUp === 0 && words <= 12 && (!allowed || (allowed & (1 << best)) !== 0);
  if (single && !(model && best <= 1)) return { lang: DETECTED_LANGS[best], confidence: 0.5, source: 'stopwords' };

  // Close or thin vote without a French or German function word (or with only one, for a brand
  // configured for neither): the learned English/Dutch model, when there is one.
  const frDe = counts[2] + counts[3];
  // One French or German function word among several English or Dutch ones ("la", "die", "im" in
  // an English tweet) goes to the model first; only when it is not sure does tinyld decide.
  const oneStray = frDe === 1 && counts[0] + counts[1] >= 2;
  if (model && (frDe === 0 || oneStray || (allowed && (allowed & FR_DE_BITS) === 0 && frDe < 2))) {
    const { lang, p } = model(tokens);
    let pEn = lang === 'en' ? p : 1 - p;
    const shift = priorLean ? (priorLean === 'en' ? PRIOR_LOGIT : -PRIOR_LOGIT) : allowed & (EN_BIT | NL_BIT) ? 0 : DEFAULT_EN_LOGIT;
    if (shift) {
      const z = Math.log(Math.max(1e-9, pEn) / Math.max(1e-9, 1 - pEn)) + shift;
      pEn = 1 / (1 + Math.exp(-z));
    }
    const decided: 'en' | 'nl' = pEn >= 0.5 ? 'en' : 'nl';
    const pd = decided === 'en' ? pEn : 1 - pEn;
    // A single function word of the language the model picks lowers the bar.
    const agrees = single && DETECTED_LANGS[best] === decided;
    const strayOnly = oneStray && !(allowed && (allowed & FR_DE_BITS) === 0);
    if (!strayOnly || pd >= STRAY_DECIDES_AT) {
      if (pd < (agrees ? MODEL_AGREES_AT : MODEL_DECIDES_AT)) return { lang: 'und', confidence: 0.2, source: 'model', lean: lean ?? decided };
      return { lang: decided, confidence: round2(pd * Math.min(1, 0.5 + words / 16)), source: 'model' };
    }
  }
  // A single function word and nothing else, without a model to ask.
  if (single) return { lang: DETECTED_LANGS[best], confidence: 0.5, source: 'stopwords' };
  // Otherwise ask tinyld on the words alone (no URLs, mentions or '#').
  let clean = '';
  for (const t of tokens) {
    if (t.kind === 'word') clean += clean ? ` ${t.text}` : t.text;
    else if (t.kind === 'hashtag') clean += clean ? ` ${t.text.slice(1)}` : t.text.slice(1);
    else if (t.kind === 'punct') clean += t.text;
  }
  const all = tinyldDetectAll(clean);
  const first = all[0];
  const next = all[1];
  if (!first || first.accuracy < 0.05 || (next && first.accuracy < 1.8 * next.accuracy)) {
    const tl = all.find((r) => r.lang === 'en' || r.lang === 'nl')?.lang as 'en' | 'nl' | undefined;
    return { lang: 'und', confidence: 0.2, source: 'tinyld', lean: lean ?? priorLean ?? tl };
  }
  const ratio = next ? 1 - next.accuracy / first.accuracy : 1;
  return { lang: first.lang, confidence: round2(0.4 + 0.4 * ratio * Math.min(1, words / 8)), source: 'tinyld' };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
