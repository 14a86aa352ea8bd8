/**
 * Situations whose meaning is not the sum of their words' polarity, in English and Dutch:
 *
 * - **Sarcasm and irony**: praise around a bad situation ("Oh great, lost my parcel again 🙄",
 *   "Thanks @klm for the 4 hour delay", "Bedankt hoor, weer geen pakket", "Echt top, trein weer
 *   uitgevallen"). The praise words count as negative; aimed at the brand it is a complaint.
 * - **Recovery**: a problem reported together with its resolution and praise ("lost my card abroad
 *   and support had a new one sorted within the hour. Brilliant service!"): positive, no complaint.
 * - **Litotes and negated negatives**: "not bad", "can't complain", "niet slecht", "geen klagen",
 *   "zo hoort het": not negative, and no complaint.
 *
 * It reads what the rules already found (tokens, lexicon hits, the cue and marker phrases of
 * complaint.ts, found in the same regex pass), so it costs a few loops over a post's tokens.
 */
import { cueBit, FAILURE_MASK, type ComplaintCues, type CueSpan } from './complaint';
import { isEnglishNegation, RULES, type RuleLang } from './rules';
import type { SentimentHit } from './sentiment';
import type { Token } from './tokenize';

export type SituationKind = 'sarcasm' | 'recovery' | 'litotes';

export interface Situation {
  kind?: SituationKind;
  /** Indexes into the sentiment hits of the praise that is meant ironically (sarcasm). */
  ironic: number[];
  /** The words that show the situation, as written: praise and the bad situation, the problem and its fix, the litotes. */
  evidence: string[];
  /** Addressed to someone (an @handle, "you", "jullie") or naming a service failure. */
  aimed: boolean;
}

/**
 * No situation. Every Situation is built with the same four properties in the same order (kind
 * undefined when there is none), so the functions reading them stay monomorphic: a post's
 * features are computed in hot, optimised code, and objects of several shapes deoptimise it.
 */
export const NO_SITUATION: Readonly<Situation> = situation(undefined, [], [], false);

function situation(kind: SituationKind | undefined, ironic: number[], evidence: string[], aimed: boolean): Situation {
  return { kind, ironic, evidence, aimed };
}

const LITOTES = cueBit('litotes');
const RESOLUTION = cueBit('resolution');
const THANKS_FOR = cueBit('thanksFor');
const IRONY = cueBit('ironyMarker');
const STILL = cueBit('still') | cueBit('noResponse') | cueBit('waiting') | cueBit('notReceived');
/** Failures concrete enough to be what praise is ironic about (not a question, a refund or a repeat). */
const HARD = (['still', 'notReceived', 'noResponse', 'notWorking', 'waiting', 'duration', 'delay', 'wrongMissing', 'letDown', 'nobody', 'expectation', 'retell'] as const).reduce(
  (m, c) => m | cueBit(c),
  0,
);
const ANY_MARKER = LITOTES | RESOLUTION | THANKS_FOR | IRONY;
const LET_DOWN = cueBit('letDown');
const PROBLEM = cueBit('problem');

/** Emoji that mark irony by themselves. */
const IRONY_EMOJI = new Set(['🙄', '🙃']);
/** Words that say "this happened again" (sarcasm is mostly about a repeated let-down). */
const AGAIN = new Set(['again', 'another', 'alweer', 'weer', 'opnieuw', 'zoveelste', 'typical', 'typisch']);
/** Praise that, said as an interjection before a bad situation, is irony ("Great, another delay"). */
const INTERJECTION = new Set([
  'great', 'wonderful', 'fantastic', 'perfect', 'brilliant', 'lovely', 'awesome', 'amazing', 'nice', 'super', 'excellent',
  'fabulous', 'terrific', 'splendid', 'marvellous', 'marvelous', 'fab', 'yay', 'woohoo', 'cool', 'sweet', 'superb',
  'top', 'geweldig', 'fantastisch', 'prachtig', 'perfect', 'heerlijk', 'lekker', 'mooi', 'fijn', 'knap', 'briljant', 'leuk',
  'prima', 'toppie', 'chapeau', 'klasse', 'schitterend', 'fantastic', 'gezellig',
]);
/** Optional lead-ins before an interjection ("oh great", "echt top", "nou lekker"). */
const LEAD_IN = new Set(['oh', 'ah', 'wow', 'well', 'just', 'really', 'so', 'how', 'echt', 'nou', 'wat', 'heel', 'super', 'zo', 'weer', 'alweer', 'again']);
/** Words that may stand between "thanks for" and the bad thing it thanks for ("thanks for the 4 hour delay"). */
const THANKS_FILLER = new Set([
  'the', 'a', 'an', 'another', 'my', 'our', 'this', 'that', 'your', 'yet', 'extra', 'lovely', 'wonderful', 'great', 'amazing',
  'fantastic', 'awesome', 'hour', 'hours', 'hr', 'hrs', 'minute', 'minutes', 'min', 'mins', 'day', 'days', 'long', 'additional',
  'surprise', 'unexpected', 'de', 'het', 'een', 'mijn', 'onze', 'ons', 'weer', 'alweer', 'zoveelste', 'uur', 'uren', 'minuten',
  'dagen', 'lange', 'leuke', 'fijne', 'heerlijke', 'geweldige', 'mooie', 'alweer', 'nog', 'zo', 'so', 'much', 'all',
]);
/** Thanks said after an ironic interjection is ironic too ("Great, another delay. Thanks @united"). */
const THANKS_WORDS = new Set(['thanks', 'thank', 'thx', 'ty', 'cheers', 'bedankt', 'dank', 'dankjewel', 'dankuwel', 'merci']);
/** Second-person words: a post that says "you" to someone is aimed at them. */
const SECOND_PERSON = new Set(['you', 'your', 'u', 'ur', "you're", 'youre', 'yours', 'jullie', 'je', 'jij', 'uw', 'jou', 'jouw', "jullie'"]);
/** Words that say the sentence asks or supposes rather than reports ("when will it be fixed?", "als het opgelost is"). */
const HYPOTHETICAL = new Set(['when', 'if', 'hopefully', 'hope', 'until', 'once', 'wanneer', 'als', 'hopelijk', 'tot', 'zodra', 'totdat']);
/** Irony markers that are as often sincere praise of a service ("super service weer", "wat een service"): a fix after them makes them praise. */
const PRAISE_OR_IRONY = /^(?:super|top|geweldige|fantastische|uitstekende|prima) (?:service|klantenservice|bezorging|communicatie)|^wat een /i;
/** Words that make the rest of their clause a wish or a condition ("if I got a refund", "als het ooit opgelost wordt"). */
const CONDITIONAL = new Set(['if', 'unless', 'hopefully', 'would', "wouldn't", 'wouldnt', 'als', 'tenzij', 'hopelijk', 'zodra', 'mocht', 'zou']);
/** Words that report someone else's claim of a fix ("I was told it was resolved"): no recovery by themselves. */
const REPORTED = new Set(['told', 'said', 'says', 'claim', 'claims', 'claimed', 'supposedly', 'apparently', 'allegedly', 'zogenaamd', 'zogezegd', 'zeggen', 'zei', 'zeiden', 'beweren', 'beweerd']);
const STILL_WORDS = new Set(['still', 'nog', 'steeds']);
/** "after"/"na": what follows tells what came before the fix, not what is wrong now. */
const AFTER = new Set(['after', 'despite', 'na', 'ondanks', 'following']);

/** First and last token a character span covers, or [-1, -1]. */
function tokenRange(tokens: readonly Token[], start: number, end: number): [number, number] {
  let first = -1;
  let last = -1;
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t];
    if (tok.start >= end) break;
    if (tok.end > start) {
      if (first < 0) first = t;
      last = t;
    }
  }
  return [first, last];
}

/** Index of the punctuation token ending the sentence token i is in (or tokens.length). */
function sentenceEnd(tokens: readonly Token[], i: number): number {
  for (let j = i + 1; j < tokens.length; j++) if (tokens[j].kind === 'punct' && /[.!?…]/.test(tokens[j].text)) return j;
  return tokens.length;
}

/**
 * Whether a post can be a situation at all: a situation marker, or praise next to an eye-roll, a
 * praising interjection next to a concrete failure, "thanks for nothing". Cheap, and false for
 * nearly every post, so callers skip readSituation (and its allocations) for those.
 */
export function maySituate(tokens: readonly Token[], hits: readonly SentimentHit[], mask: number): boolean {
  if ((mask & ANY_MARKER) !== 0) return true;
  let positive = false;
  let eyeRoll = false;
  let interjection = false;
  for (let i = 0; i < hits.length; i++) {
    const h = hits[i];
    if (h.value > 0) {
      positive = true;
      if (h.first === h.last && INTERJECTION.has(tokens[h.first].norm)) interjection = true;
    } else if (h.first === h.last && IRONY_EMOJI.has(tokens[h.first].norm)) eyeRoll = true;
  }
  return positive && (eyeRoll || ((mask & HARD) !== 0 && (interjection || (mask & LET_DOWN) !== 0)));
}

/**
 * Reads the situation of one post. `hits` are the rules' lexicon hits (values after negation and
 * contrast), `cues` the phrases complaint.ts found. Pure and cheap; most posts leave at the first test.
 */
export function readSituation(text: string, tokens: readonly Token[], lang: RuleLang, hits: readonly SentimentHit[], cues: ComplaintCues): Situation {
  if (!maySituate(tokens, hits, cues.mask)) return NO_SITUATION;
  const mask = cues.mask;
  let hasIronyEmoji = false;
  for (const h of hits) if (h.value < 0 && h.first === h.last && IRONY_EMOJI.has(tokens[h.first]?.norm)) hasIronyEmoji = true;

  const spans = cues.spans.map((s) => ({ span: s, range: tokenRange(tokens, s[0], s[1]) }));
  const inSpanOf = (bit: number, t: number) => spans.some(({ span, range }) => 1 << span[3] === bit && t >= range[0] && t <= range[1]);
  const isNegator = (w: string) => RULES[lang].negators.has(w) || (lang === 'en' && isEnglishNegation(w));

  let aimed = (mask & FAILURE_MASK) !== 0;
  for (const t of tokens) {
    if (t.kind === 'mention' || (t.kind === 'word' && SECOND_PERSON.has(t.norm))) {
      aimed = true;
      break;
    }
  }

  // Failure phrases (with where they are), negative hits outside litotes, praise outside litotes.
  const failures = spans.filter(({ span }) => span[2] > 0 && ((1 << span[3]) & FAILURE_MASK) !== 0);
  const litotes = spans.filter(({ span }) => 1 << span[3] === LITOTES);
  const inLitotes = (h: SentimentHit) => litotes.some(({ range }) => h.first >= range[0] && h.last <= range[1]);
  const negHits: number[] = [];
  const posHits: number[] = [];
  hits.forEach((h, i) => {
    if (inLitotes(h)) return;
    if (h.value < 0) negHits.push(i);
    else if (h.value > 0) posHits.push(i);
  });
  const strongNegative = negHits.some((i) => hits[i].value <= -1.5 && !IRONY_EMOJI.has(tokens[hits[i].first]?.norm));
  const badSituation = failures.length > 0 || strongNegative;
  // For sarcasm: a concrete failure, or a strongly negative word that is not itself negated.
  const hard = failures.filter(({ span }) => ((1 << span[3]) & HARD) !== 0);
  const isStrongBad = (i: number) => {
    const h = hits[i];
    if (h.value > -2 || IRONY_EMOJI.has(tokens[h.first]?.norm)) return false;
    const w = tokens[h.first];
    return !(w.kind === 'word' && isNegator(w.norm));
  };
  const ironicTarget = hard.length > 0 || negHits.some(isStrongBad);
  const quote = (first: number, last: number) => text.slice(tokens[first].start, tokens[last].end);
  // The hit each token belongs to (-1 for none), built on first use.
  let hitIndex: Int32Array | undefined;
  const hitAt = (): Int32Array => {
    if (!hitIndex) {
      hitIndex = new Int32Array(tokens.length).fill(-1);
      hits.forEach((h, i) => {
        for (let t = h.first; t <= h.last && t < tokens.length; t++) hitIndex![t] = i;
      });
    }
    return hitIndex;
  };
  const quoteSpan = (s: CueSpan) => text.slice(s[0], s[1]);

  // --- Recovery: a fix that is reported, not asked for or denied, after a problem, with praise.
  const fixes = spans.filter(({ span, range }) => {
    if (1 << span[3] !== RESOLUTION || range[0] < 0) return false;
    for (let j = Math.max(0, range[0] - 3); j < range[0]; j++) {
      const w = tokens[j];
      if (w.kind === 'punct') continue;
      if (w.kind === 'word' && (isNegator(w.norm) || STILL_WORDS.has(w.norm) || HYPOTHETICAL.has(w.norm))) return false;
    }
    // "if I got my money refunded", "als het opgelost wordt": a wish further back in its clause.
    for (let j = range[0] - 1; j >= Math.max(0, range[0] - 6) && tokens[j].kind !== 'punct'; j--) {
      if (tokens[j].kind === 'word' && CONDITIONAL.has(tokens[j].norm)) return false;
    }
    // "told ... it was resolved": a claim the post reports, within its sentence.
    for (let j = range[0] - 1; j >= Math.max(0, range[0] - 8) && tokens[j].kind !== 'punct'; j--) {
      if (tokens[j].kind === 'word' && REPORTED.has(tokens[j].norm)) return false;
    }
    const end = sentenceEnd(tokens, range[1]);
    if (end < tokens.length && tokens[end].text.includes('?')) return false;
    return true;
  });
  // Thanks and praise ("thanks", "bedankt", "brilliant service") are in the lexicons at 2 or more.
  const praised = posHits.reduce((s, i) => s + hits[i].value, 0) >= 2;
  // Praise of the service that may be ironic ("super service weer") before the fix is praise of the fix.
  const firstFix = fixes.length ? Math.min(...fixes.map(({ span }) => span[0])) : Infinity;
  const ironyBeforeFix = spans.every(({ span }) => 1 << span[3] !== IRONY || (PRAISE_OR_IRONY.test(quoteSpan(span)) && span[1] <= firstFix));
  if (fixes.length && badSituation && praised && ((mask & IRONY) === 0 || ironyBeforeFix) && !hasIronyEmoji) {
    const lastFix = Math.max(...fixes.map(({ span }) => span[1]));
    const lastFixToken = Math.max(...fixes.map(({ range }) => range[1]));
    // What follows the fix must not take it back ("... fixed it, but it's still not working",
    // "rebooked, but I lost my seat"), unless it only says what came before ("after the cancellation").
    const introduced = (t: number) => {
      for (let j = Math.max(0, t - 3); j < t; j++) if (tokens[j].kind === 'word' && AFTER.has(tokens[j].norm)) return true;
      return false;
    };
    // The problem a fix names as its object is not one that comes back ("fixed my issue", "sorted the problem").
    const objectOfFix = (span: CueSpan, first: number) => 1 << span[3] === PROBLEM && first <= lastFixToken + 2;
    const takenBack =
      failures.some(({ span, range }) => span[0] >= lastFix && !introduced(range[0]) && !objectOfFix(span, range[0])) ||
      negHits.some((i) => hits[i].first > lastFixToken && hits[i].value <= -1 && !introduced(hits[i].first)) ||
      tokens.some((t, i) => i > lastFixToken && t.kind === 'word' && RULES[lang].contrast.has(t.norm)) ||
      (mask & STILL & ~RESOLUTION) !== 0 && failures.some(({ span }) => ((1 << span[3]) & STILL) !== 0 && span[0] >= lastFix);
    if (!takenBack) {
      const evidence: string[] = [];
      const firstProblem = failures[0]?.span;
      if (firstProblem && firstProblem[1] <= lastFix) evidence.push(quoteSpan(firstProblem));
      for (const { span } of fixes) evidence.push(quoteSpan(span));
      return situation('recovery', [], dedupe(evidence), aimed);
    }
  }

  // --- Sarcasm: praise, or a verbal irony marker that is praise by itself ("wat een service");
  // an eye-roll on a plain complaint, with no praise, stays a plain complaint.
  const irony = spans.filter(({ span }) => 1 << span[3] === IRONY && !IRONY_EMOJI.has(quoteSpan(span)));
  if (posHits.length || irony.length) {
    const ironic = new Set<number>();
    const evidence: string[] = [];
    let marker: string | undefined;
    let decided = false;

    // Praise next to an eye-roll: "great service 🙄".
    if (hasIronyEmoji) {
      decided = true;
      marker = [...IRONY_EMOJI].find((e) => text.includes(e));
    }
    // A verbal marker ("oh great", "bedankt hoor", "echt top", "yeah right") with a bad situation.
    const explicit = irony.some(({ span }) => quoteSpan(span).startsWith('#'));
    // Praise of the service before a reported fix ("super service weer, pakket kwijt maar binnen een dag gevonden") is not irony.
    const praiseOfFix = fixes.length > 0 && ironyBeforeFix;
    if (!decided && irony.length && !praiseOfFix && (ironicTarget || (explicit && badSituation))) decided = true;
    // "thanks for nothing", "bedankt voor niks": a let-down phrased as thanks.
    const thanksForNothing = failures.find(({ span }) => /^(?:thank|bedankt|dank|merci)/i.test(quoteSpan(span)));
    if (!decided && thanksForNothing) {
      decided = true;
      evidence.push(quoteSpan(thanksForNothing.span));
    }
    // "thanks for" / "love how" aimed at the bad thing itself.
    if (!decided) {
      for (const { span, range } of spans) {
        if (1 << span[3] !== THANKS_FOR || range[1] < 0) continue;
        const anchor = quoteSpan(span).toLowerCase();
        const strict = /^(?:thank|thx|ty|cheers|bedankt|dank|merci)/.test(anchor);
        const end = sentenceEnd(tokens, range[1]);
        for (let j = range[1] + 1, seen = 0; j < end && seen < 8; j++) {
          const t = tokens[j];
          if (t.kind === 'mention' || t.kind === 'number') continue;
          if (t.kind === 'punct') break;
          seen++;
          const hit = hitAt()[j];
          const failureHere = hard.some(({ range: r }) => j >= r[0] && j <= r[1]);
          if (failureHere || (strict && hit >= 0 && isStrongBad(hit))) {
            decided = true;
            // Quote from the thanks to the end of the bad thing ("Thanks @klm for the 4 hour delay").
            let to = j;
            for (const { range: r } of hard) if (j >= r[0] && j <= r[1]) to = Math.max(to, r[1]);
            if (hit >= 0) to = Math.max(to, hits[hit].last);
            evidence.push(quote(range[0], to));
            break;
          }
          if (hit >= 0 && hits[hit].value > 0 && !THANKS_FILLER.has(t.norm)) break;
          if (strict && t.kind === 'word' && !THANKS_FILLER.has(t.norm)) break;
        }
        if (decided) break;
      }
    }
    // An interjection of praise opening a sentence, then a concrete failure within a few words, and
    // no more praise: "Great, another delay", "Echt top @ns, trein weer uitgevallen".
    const otherPraise = (i: number) =>
      posHits.some((x) => x !== i && hits[x].value >= 1.5 && !THANKS_WORDS.has(tokens[hits[x].first]?.norm) && !IRONY_EMOJI.has(tokens[hits[x].first]?.norm));
    const noContrast = !tokens.some((t) => t.kind === 'word' && RULES[lang].contrast.has(t.norm));
    // Only lead-ins ("oh", "echt"), handles and hashtags before token i in its sentence.
    const opensSentence = (i: number) => {
      let k = i - 1;
      while (k >= 0 && tokens[k].kind !== 'punct' && (tokens[k].kind === 'mention' || tokens[k].kind === 'hashtag' || (tokens[k].kind === 'word' && LEAD_IN.has(tokens[k].norm)))) k--;
      return k < 0 || tokens[k].kind === 'punct';
    };
    if (!decided && hard.length && noContrast) {
      for (const i of posHits) {
        const h = hits[i];
        if (h.first !== h.last || !INTERJECTION.has(tokens[h.first].norm) || otherPraise(i)) continue;
        if (!opensSentence(h.first)) continue;
        // Directly followed by a comma or stop (handles allowed) or "again"/"hoor"/"zeg".
        let n = h.last + 1;
        while (n < tokens.length && tokens[n].kind === 'mention') n++;
        const next = tokens[n];
        if (!(!next || (next.kind === 'punct' && /[,.!…]/.test(next.text)) || (next.kind === 'word' && (AGAIN.has(next.norm) || next.norm === 'hoor' || next.norm === 'zeg')))) continue;
        // The failure starts within 10 tokens after it.
        if (hard.some(({ range }) => range[0] > h.last && range[0] - h.last <= 10)) {
          decided = true;
          break;
        }
      }
    }
    // A verdict of praise alone, after the failure it is about: "Parcel lost again. Brilliant.",
    // "Geen warm water. Geweldig." A sentence of nothing but the interjection (lead-ins, handles,
    // "hoor"/"zeg" allowed) that follows a concrete failure, with no fix and no other praise.
    if (!decided && hard.length && noContrast && (mask & RESOLUTION) === 0) {
      for (const i of posHits) {
        const h = hits[i];
        if (h.first !== h.last || !INTERJECTION.has(tokens[h.first].norm) || otherPraise(i) || !opensSentence(h.first)) continue;
        let n = h.last + 1;
        while (n < tokens.length && (tokens[n].kind === 'mention' || tokens[n].kind === 'emoji' || (tokens[n].kind === 'word' && (tokens[n].norm === 'hoor' || tokens[n].norm === 'zeg')))) n++;
        const alone = n >= tokens.length || (tokens[n].kind === 'punct' && /[.!…]/.test(tokens[n].text) && n + 1 >= tokens.length);
        if (alone && h.first > 0 && hard.some(({ range }) => range[1] >= 0 && range[1] < h.first)) {
          decided = true;
          break;
        }
      }
    }
    // Praise with a failure that happened again, in one breath: "fantastic service, parcel lost again".
    if (!decided && hard.length && noContrast) {
      const againNear = hard.some(({ range }) => {
        for (let t = Math.max(0, range[0] - 3); t <= Math.min(tokens.length - 1, range[1] + 2); t++) if (tokens[t].kind === 'word' && AGAIN.has(tokens[t].norm)) return true;
        return false;
      });
      if (againNear) for (const i of posHits) if (hits[i].value >= 2 && INTERJECTION.has(tokens[hits[i].first].norm) && !otherPraise(i) && opensSentence(hits[i].first)) decided = true;
    }

    if (decided) {
      for (const i of posHits) ironic.add(i);
      // Quote the praise first, then the bad situation, then the marker.
      // Weak positives (a negated negative: "no refund") are not the praise that is meant ironically.
      const strong = [...ironic].filter((i) => hits[i].value >= 1);
      const praise = (strong.length ? strong : [...ironic]).sort((a, b) => hits[a].first - hits[b].first).map((i) => hits[i].surface);
      const markerText = irony.map(({ span }) => quoteSpan(span));
      const situationText = hard.length ? quoteSpan(hard[0].span) : failures.length ? quoteSpan(failures[0].span) : negHits.length ? hits[negHits.sort((a, b) => hits[a].value - hits[b].value)[0]].surface : undefined;
      const quoted = dedupe([...evidence, ...markerText, ...praise, ...(situationText ? [situationText] : []), ...(marker ? [marker] : [])]);
      return situation('sarcasm', [...ironic], quoted, aimed);
    }
  }

  // --- Litotes: "not bad", "geen klagen", with nothing else negative in the post.
  if (litotes.length && !badSituation && !negHits.some((i) => hits[i].value <= -1)) {
    return situation('litotes', [], dedupe(litotes.map(({ span }) => quoteSpan(span))), aimed);
  }
  return aimed ? situation(undefined, [], [], true) : NO_SITUATION;
}

function dedupe(xs: string[]): string[] {
  const out: string[] = [];
  for (const x of xs) {
    const lower = x.toLowerCase();
    if (!x || out.some((o) => o.toLowerCase() === lower || o.toLowerCase().includes(lower))) continue;
    // A longer phrase replaces the shorter one it contains.
    for (let i = out.length - 1; i >= 0; i--) if (lower.includes(out[i].toLowerCase())) out.splice(i, 1);
    out.push(x);
  }
  return out.slice(0, 5);
}
