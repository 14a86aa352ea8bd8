/**
 * repwatch's text judgement: language, sentiment, complaint and the evidence behind them.
 *
 * Pipeline per post: tokenize → language → rule-based sentiment → complaint → (optional model) →
 * Judgement. Synchronous and pure once the lexicons are loaded (lazily, at first use).
 * A learned model plugs in through `createAnalyzer({ model })`: it sees everything the rules
 * computed (tokens, language, rule scores and hits) and may override the sentiment or complaint.
 */
import { findComplaintCues, scoreComplaint, type ComplaintCues, type ComplaintResult } from './complaint';
import type { AnalysisInput, Judgement } from './judgement';
import { detectLanguage, type LanguageModel, type LanguageResult } from './language';
import type { RuleLang } from './rules';
import { neutralSentiment, scoreSentiment, topEvidence, type SentimentResult } from './sentiment';
import { createLearnedModel, loadModels } from './model';
import { tokenize, type Token } from './tokenize';

export type { AnalysisInput, Judgement } from './judgement';

/** Everything the rules derived from one post: what a model can build on. */
export interface AnalysisContext {
  text: string;
  tokens: readonly Token[];
  language: LanguageResult;
  /** The lexicon/rule language used ('en' or 'nl'), or undefined when sentiment fell back to neutral. */
  ruleLang?: RuleLang;
  sentiment: SentimentResult;
  complaint: ComplaintResult;
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
  const language = detectLanguage(tokens, input.langHint, languageModel);

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
  const complaint = cues ? scoreComplaint(cues, tokens, sentiment) : { label: false, score: 0, cues: [], cueSum: 0, cueMask: 0, cueSpans: [], directed: false, question: false };
  return { text, tokens, language, ruleLang, sentiment, complaint };
}

function toJudgement(ctx: AnalysisContext, model?: TextModel): Judgement {
  const { language, sentiment, complaint } = ctx;
  const judgement: Judgement = {
    lang: language.lang,
    langConfidence: language.confidence,
    sentiment: { label: sentiment.label, score: sentiment.score, confidence: sentiment.confidence },
    complaint: { label: complaint.label, score: complaint.score },
    evidence: {
      negative: topEvidence(sentiment.hits, -1),
      positive: topEvidence(sentiment.hits, 1),
      complaint: complaint.cues,
    },
  };
  const override = model?.judge(ctx);
  if (override?.sentiment) judgement.sentiment = override.sentiment;
  if (override?.complaint) judgement.complaint = override.complaint;
  if (override?.evidence) Object.assign(judgement.evidence, override.evidence);
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
