/**
 * repwatch's text judgement: language, sentiment, complaint and the evidence behind them.
 *
 * Pipeline per post: tokenize → language → rule-based sentiment → complaint → (optional model) →
 * Judgement. Synchronous and pure once the lexicons are loaded (lazily, at first use).
 * A learned model plugs in through `createAnalyzer({ model })`: it sees everything the rules
 * computed (tokens, language, rule scores and hits) and may override the sentiment or complaint.
 */
import { FAILURE_MASK, findComplaintCues, noComplaint, scoreComplaint, type ComplaintCues, type ComplaintResult } from './complaint';
import type { AnalysisInput, Judgement, Rating } from './judgement';
import { detectLanguage, type LanguageModel, type LanguageResult } from './language';
import type { RuleLang } from './rules';
import { neutralSentiment, scoreSentiment, topEvidence, withFlippedHits, type SentimentResult } from './sentiment';
import { maySituate, NO_SITUATION, readSituation, type Situation } from './situation';
import { createLearnedModel, loadModels } from './model';
import { tokenize, type Token } from './tokenize';

export type { AnalysisInput, Judgement, Rating } from './judgement';
export type { Situation, SituationKind } from './situation';

/** Everything the rules derived from one post: what a model can build on. */
export interface AnalysisContext {
  text: string;
  tokens: readonly Token[];
  language: LanguageResult;
  /** The lexicon/rule language used ('en' or 'nl'), or undefined when sentiment fell back to neutral. */
  ruleLang?: RuleLang;
  sentiment: SentimentResult;
  complaint: ComplaintResult;
  /** Sarcasm, recovery or litotes, when the post reads as one (situation.ts). */
  situation: Situation;
  /** A review's rating, from the input. */
  rating?: Rating;
}

/** What a model decided: only what it overrides. */
export interface TextModelVerdict {
  sentiment?: Judgement['sentiment'];
  complaint?: Judgement['complaint'];
  evidence?: Partial<Judgement['evidence']>;
}

/** A learned judgement on top of the rules (see model/). */
export interface TextModel {
  judge(ctx: AnalysisContext): TextModelVerdict | undefined;
  /** English or Dutch, for posts whose function words do not decide (instead of tinyld). */
  language?: LanguageModel;
}

export interface Analyzer {
  analyze(inputs: readonly AnalysisInput[]): Judgement[];
  analyzeOne(input: AnalysisInput): Judgement;
}

/** Confidence multiplier when the language is undetermined and a lexicon was picked by guess. */
const UND_CONFIDENCE = 0.7;
/** Sentiment confidence for languages without a lexicon (fr, de, others). */
const UNSUPPORTED_CONFIDENCE = 0.2;

/** Runs the rules for one post. */
export function analyzeContext(input: AnalysisInput, languageModel?: LanguageModel): AnalysisContext {
  const text = typeof input.text === 'string' ? input.text : '';
  const tokens = tokenize(text);
  const language = detectLanguage(tokens, input.langHint, languageModel, input.languages);

  let ruleLang: RuleLang | undefined;
  let sentiment: SentimentResult;
  let cues: ComplaintCues | undefined;
  if (language.lang === 'en' || language.lang === 'nl') {
    ruleLang = language.lang;
    cues = findComplaintCues(text, ruleLang);
    sentiment = scoreSentiment(text, tokens, ruleLang, cues.sum);
  } else if (language.lang === 'und') {
    // Too short or ambiguous: use the lexicon the function words lean to, else the one that
    // recognises more of the words (English on a tie).
    if (language.lean) {
      ruleLang = language.lean;
      cues = findComplaintCues(text, ruleLang);
      sentiment = scoreSentiment(text, tokens, ruleLang, cues.sum);
    } else {
      const enCues = findComplaintCues(text, 'en');
      const nlCues = findComplaintCues(text, 'nl');
      const en = scoreSentiment(text, tokens, 'en', enCues.sum);
      const nl = scoreSentiment(text, tokens, 'nl', nlCues.sum);
      [ruleLang, sentiment, cues] = nl.covered + nlCues.sum > en.covered + enCues.sum ? ['nl', nl, nlCues] : ['en', en, enCues];
    }
    sentiment.confidence = Math.round(sentiment.confidence * UND_CONFIDENCE * 1000) / 1000;
  } else {
    sentiment = neutralSentiment(UNSUPPORTED_CONFIDENCE);
  }
  let situation: Situation = NO_SITUATION;
  if (cues && ruleLang && maySituate(tokens, sentiment.hits, cues.mask)) {
    situation = readSituation(text, tokens, ruleLang, sentiment.hits, cues);
    // Ironic praise counts against the post in the rules too (and so in the model's rule features).
    if (situation.kind === 'sarcasm') sentiment = withFlippedHits(sentiment, situation.ironic, ruleLang);
  }
  const complaint = cues ? scoreComplaint(cues, tokens, sentiment) : noComplaint();
  // One shape for every context (rating undefined when absent): the learned layer reads it in hot code.
  return { text, tokens, language, ruleLang, sentiment, complaint, situation, rating: input.rating };
}

/** Sentiment scores a situation or rating moves a label to, at least (absolute values). */
const SITUATION_SCORE = 0.5;
/** A rating at or below this share of the stars is negative; at or above `RATING_HIGH`, positive. */
const RATING_LOW = 0.4;
const RATING_HIGH = 0.8;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Evidence lists joined without repeats: a phrase that contains another replaces it in its place. */
function mergeEvidence(...lists: readonly string[][]): string[] {
  const out: string[] = [];
  for (const list of lists) {
    for (const e of list) {
      const lower = e.toLowerCase();
      if (!e || out.some((o) => o.toLowerCase().includes(lower))) continue;
      const i = out.findIndex((o) => lower.includes(o.toLowerCase()));
      if (i >= 0) {
        out[i] = e;
        for (let k = out.length - 1; k > i; k--) if (lower.includes(out[k].toLowerCase())) out.splice(k, 1);
      } else out.push(e);
    }
  }
  return out.slice(0, 5);
}

/**
 * The situation and the rating have the last word over the rules and the model: sarcasm is
 * negative (and a complaint when aimed at someone), a recovery is positive and no complaint,
 * a litotes is not negative, a low rating is negative. Each says so in the evidence.
 */
function applySituation(ctx: AnalysisContext, j: Judgement): void {
  const s = ctx.situation;
  if (s.kind === 'sarcasm') {
    if (j.sentiment.label !== 'negative' || j.sentiment.score > -SITUATION_SCORE) {
      j.sentiment = { label: 'negative', score: round3(Math.min(j.sentiment.score, -SITUATION_SCORE)), confidence: round3(Math.max(0.6, j.sentiment.confidence * 0.8)) };
    }
    const [first, ...rest] = s.evidence;
    j.evidence.negative = [`${first} (sarcasm)`, ...mergeEvidence(rest, j.evidence.negative).filter((e) => !first.toLowerCase().includes(e.toLowerCase()))].slice(0, 5);
    j.evidence.positive = [];
    if (s.aimed) {
      if (!j.complaint.label) j.complaint = { label: true, score: round3(Math.max(0.6, j.complaint.score)) };
      if (j.evidence.complaint.length === 0) j.evidence.complaint = ctx.complaint.cues.length ? ctx.complaint.cues.slice(0, 5) : s.evidence.slice(0, 5);
    }
    j.situation = { kind: 'sarcasm', evidence: s.evidence };
  } else if (s.kind === 'recovery') {
    if (j.sentiment.label !== 'positive') {
      j.sentiment = { label: 'positive', score: round3(Math.max(j.sentiment.score, SITUATION_SCORE)), confidence: round3(Math.max(0.6, j.sentiment.confidence * 0.8)) };
    }
    if (j.complaint.label) j.complaint = { label: false, score: round3(Math.min(j.complaint.score, 0.2)) };
    // The praise, then the fix (the problem is in `situation.evidence`).
    const fixes = s.evidence.length > 1 ? s.evidence.slice(1) : s.evidence;
    j.evidence = { negative: [], positive: mergeEvidence(j.evidence.positive.length ? j.evidence.positive : topEvidence(ctx.sentiment.hits, 1), fixes), complaint: [] };
    j.situation = { kind: 'recovery', evidence: s.evidence };
  } else if (s.kind === 'litotes') {
    if (j.sentiment.label === 'negative') {
      j.sentiment = { label: 'positive', score: round3(Math.max(0.2, -j.sentiment.score * 0.3)), confidence: 0.55 };
    }
    if (j.complaint.label && (ctx.complaint.cueMask & FAILURE_MASK) === 0) j.complaint = { label: false, score: round3(Math.min(j.complaint.score, 0.3)) };
    j.evidence = { negative: [], positive: mergeEvidence(s.evidence, j.evidence.positive), complaint: j.complaint.label ? j.evidence.complaint : [] };
    j.situation = { kind: 'litotes', evidence: s.evidence };
  }
  applyRating(ctx, j);
}

/** A review's stars: low is negative (and, with any complaint signal, a complaint), high is not negative. */
function applyRating(ctx: AnalysisContext, j: Judgement): void {
  const r = ctx.rating;
  if (!r || !(r.outOf > 0) || !(r.stars >= 0) || r.stars > r.outOf) return;
  const share = r.stars / r.outOf;
  const stars = `rating ${Number(r.stars.toFixed(1))}/${Number(r.outOf.toFixed(1))}`;
  if (share <= RATING_LOW) {
    if (j.sentiment.label !== 'negative') {
      j.sentiment = { label: 'negative', score: round3(Math.min(j.sentiment.score, -SITUATION_SCORE)), confidence: 0.7 };
    }
    if (!j.evidence.negative.includes(stars)) j.evidence.negative = [...j.evidence.negative.slice(0, 4), stars];
    j.evidence.positive = [];
    // One star is a complaint in itself; two stars when the words point at a problem too.
    if (!j.complaint.label && (share <= 0.2 || j.complaint.score >= 0.25 || (ctx.complaint.cueMask & FAILURE_MASK) !== 0)) {
      j.complaint = { label: true, score: round3(Math.max(0.55, j.complaint.score)) };
      if (j.evidence.complaint.length === 0) j.evidence.complaint = [...ctx.complaint.cues.slice(0, 4), stars];
    }
    j.situation ??= { kind: 'rating', evidence: [stars] };
  } else if (share >= RATING_HIGH && j.sentiment.label === 'negative') {
    // A high rating is not a negative post; a grumble in it can still be a complaint (late delivery).
    j.sentiment = { label: 'positive', score: round3(Math.max(0.3, -j.sentiment.score * 0.3)), confidence: 0.6 };
    j.evidence = { negative: [], positive: [...j.evidence.positive.slice(0, 4), stars], complaint: j.evidence.complaint };
    j.situation ??= { kind: 'rating', evidence: [stars] };
  }
}

function toJudgement(ctx: AnalysisContext, model?: TextModel): Judgement {
  const { language, sentiment, complaint } = ctx;
  const override = model?.judge(ctx);
  const ev = override?.evidence;
  const judgement: Judgement = {
    lang: language.lang,
    langConfidence: language.confidence,
    sentiment: override?.sentiment ?? { label: sentiment.label, score: sentiment.score, confidence: sentiment.confidence },
    complaint: override?.complaint ?? { label: complaint.label, score: complaint.score },
    // The rules' evidence only where the model gave none.
    evidence: {
      negative: ev?.negative ?? topEvidence(sentiment.hits, -1),
      positive: ev?.positive ?? topEvidence(sentiment.hits, 1),
      complaint: ev?.complaint ?? complaint.cues,
    },
  };
  if (ctx.situation.kind || ctx.rating) applySituation(ctx, judgement);
  return judgement;
}

/** An analyzer, optionally refined by a model. */
export function createAnalyzer(options: { model?: TextModel } = {}): Analyzer {
  const analyzeOne = (input: AnalysisInput) => toJudgement(analyzeContext(input, options.model?.language), options.model);
  return {
    analyzeOne,
    analyze: (inputs) => {
      const out = new Array<Judgement>(inputs.length);
      for (let i = 0; i < inputs.length; i++) out[i] = analyzeOne(inputs[i]);
      return out;
    },
  };
}

/** The rules alone: the baseline `npm run eval` compares against. */
export const rulesOnly = createAnalyzer();

let shipped: Analyzer | undefined;

/**
 * The analyzer repwatch runs: rules refined by the shipped models, loaded on first use (or at
 * start-up through this call, so a broken model file stops the process before any post is judged).
 */
export function shippedAnalyzer(): Analyzer {
  return (shipped ??= createAnalyzer({ model: createLearnedModel(loadModels()) }));
}

/** Judges a batch of posts (same order as the input). */
export function analyze(inputs: readonly AnalysisInput[]): Judgement[] {
  return shippedAnalyzer().analyze(inputs);
}

/** Judges one post. */
export function analyzeOne(input: AnalysisInput): Judgement {
  return shippedAnalyzer().analyzeOne(input);
}
