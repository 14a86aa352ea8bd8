/**
 * The learned layer: linear models per language over the rules' output (see features.ts), loaded
 * from the model files `npm run train` writes into models/. It decides sentiment and complaint
 * where it has a model, and explains each decision with the words that moved it most.
 */
import path from 'node:path';
import { RepwatchError } from '../../domain/errors';
import { PROJECT_ROOT } from '../../paths';
import type { AnalysisContext, TextModel, TextModelVerdict } from '../index';
import type { SentimentLabel } from '../judgement';
import type { LanguageModel } from '../language';
import type { RuleLang } from '../rules';
import { DENSE_FEATURES, denseOffset, extractFeatures, extractLanguageFeatures, type FeatureVector } from './features';
import { logits, readModelFile, softmax, weightOf, type LinearModel, type ModelTask } from './linear';

/** Where the shipped models live, and their file names. */
export const MODELS_DIR = path.join(PROJECT_ROOT, 'models');
export const modelFileName = (task: ModelTask, lang: LinearModel['lang']) => `${task}-${lang}.json.gz`;
/** The models repwatch ships. Dutch complaints have no labelled data yet: the rules decide them. */
export const SHIPPED_MODELS = [
  ['language', 'any'],
  ['sentiment', 'en'],
  ['sentiment', 'nl'],
  ['complaint', 'en'],
] as const;

export type ModelKey = `${'sentiment' | 'complaint'}-${RuleLang}` | 'language-any';
export type ModelSet = Partial<Record<ModelKey, LinearModel>>;

/** Reads the shipped models (RW_ERR_MODEL_INVALID when one is missing or broken). */
export function loadModels(dir = MODELS_DIR): ModelSet {
  const set: ModelSet = {};
  for (const [task, lang] of SHIPPED_MODELS) {
    const model = readModelFile(path.join(dir, modelFileName(task, lang)));
    if (model.task !== task || model.lang !== lang) {
      throw new RepwatchError('RW_ERR_MODEL_INVALID', `model file ${modelFileName(task, lang)} holds a ${model.task}-${model.lang} model`, {
        details: { source: modelFileName(task, lang) },
      });
    }
    set[`${task}-${lang}` as ModelKey] = model;
  }
  return set;
}

/** How many words an explanation phrase may span. */
const MAX_PHRASE_TOKENS = 4;
/** Evidence phrases per side. */
const MAX_EVIDENCE = 5;
/** A token counts as evidence when it moved the decision at least this much (logit units)... */
const MIN_CONTRIBUTION = 0.08;
/** ... and at least this share of what the strongest token did (keeps "the", "is", "de" out). */
const MIN_SHARE_OF_STRONGEST = 0.3;

/**
 * Per token: how much its features pushed towards class `plus` and away from `minus`. A bigram's
 * share is split between its two words; whole-post lexicon and cue features go to their words.
 */
function tokenContributions(model: LinearModel, f: FeatureVector, ctx: AnalysisContext, plus: number, minus: number): Float64Array {
  const out = new Float64Array(ctx.tokens.length);
  attributeDense(model, f, ctx, plus, minus, out);
  for (let k = 0; k < f.n; k++) {
    const t = f.token[k];
    if (t < 0) continue;
    const slot = f.index[k];
    const d = (weightOf(model, slot, plus) - weightOf(model, slot, minus)) * f.value[k];
    if (f.span[k] <= 1) out[t] += d;
    else {
      out[t] += d / 2;
      out[t + f.span[k] - 1] += d / 2;
    }
  }
  return out;
}

/** Lexicon features and the hits they summarise: 1 = the positive hits, -1 = the negative ones, 0 = the sign of the score. */
const LEXICON_FEATURES: Partial<Record<string, 1 | -1 | 0>> = {
  'rule.score': 0,
  'rule.positive': 1,
  'lexicon.positiveSum': 1,
  'rule.negative': -1,
  'lexicon.negativeSum': -1,
};
const isCueFeature = (name: string) => name === 'cues.sum' || name === 'rule.complaint' || name.startsWith('cue.');

/**
 * Gives the whole-post lexicon and cue features' share of the decision to the words behind them:
 * the lexicon hits ("not good", "😡") and the complaint cue phrases ("still hasn't arrived").
 */
function attributeDense(model: LinearModel, f: FeatureVector, ctx: AnalysisContext, plus: number, minus: number, out: Float64Array): void {
  const base = denseOffset(model.spec);
  const hits = ctx.sentiment.hits;
  const spans = ctx.complaint.cueSpans;
  for (let k = 0; k < f.n; k++) {
    if (f.token[k] >= 0 || f.index[k] < base) continue;
    const name = DENSE_FEATURES[f.index[k] - base];
    const d = (weightOf(model, f.index[k], plus) - weightOf(model, f.index[k], minus)) * f.value[k];
    if (d === 0) continue;
    const side = LEXICON_FEATURES[name];
    if (side !== undefined) {
      const sign = side === 0 ? Math.sign(ctx.sentiment.score) : side;
      let total = 0;
      for (const h of hits) if (Math.sign(h.value) === sign) total += Math.abs(h.value);
      if (total === 0) continue;
      for (const h of hits) {
        if (Math.sign(h.value) !== sign) continue;
        const share = (d * Math.abs(h.value)) / total / (h.last - h.first + 1);
        for (let t = h.first; t <= h.last; t++) out[t] += share;
      }
    } else if (isCueFeature(name) && spans.length) {
      let total = 0;
      for (const [, , w] of spans) total += w;
      for (const [start, end, w] of spans) {
        let first = -1;
        let last = -1;
        for (let t = 0; t < ctx.tokens.length; t++) {
          if (ctx.tokens[t].end > start && ctx.tokens[t].start < end) {
            if (first < 0) first = t;
            last = t;
          }
        }
        if (first < 0) continue;
        const share = (d * w) / total / (last - first + 1);
        for (let t = first; t <= last; t++) out[t] += share;
      }
    }
  }
}

/**
 * The post's own words that pushed hardest in one direction (sign +1 or -1), grown into short
 * phrases with neighbours that pushed the same way ("nog steeds niet", "still not arrived").
 */
export function phrasesFrom(ctx: AnalysisContext, contributions: Float64Array, sign: 1 | -1): string[] {
  const tokens = ctx.tokens;
  let strongest = 0;
  for (const c of contributions) strongest = Math.max(strongest, Math.abs(c));
  const floor = Math.max(MIN_CONTRIBUTION, MIN_SHARE_OF_STRONGEST * strongest);
  const order: number[] = [];
  for (let i = 0; i < contributions.length; i++) if (sign * contributions[i] >= floor) order.push(i);
  order.sort((a, b) => sign * contributions[b] - sign * contributions[a]);
  const taken = new Uint8Array(tokens.length);
  const out: string[] = [];
  const joins = (i: number) => i >= 0 && i < tokens.length && !taken[i] && tokens[i].kind !== 'punct' && tokens[i].kind !== 'url' && tokens[i].kind !== 'mention';
  for (const seed of order) {
    if (out.length >= MAX_EVIDENCE) break;
    if (taken[seed]) continue;
    let from = seed;
    let to = seed;
    const neighbourFloor = (sign * contributions[seed]) / 4;
    while (to - from + 1 < MAX_PHRASE_TOKENS) {
      const left = joins(from - 1) ? sign * contributions[from - 1] : -Infinity;
      const right = joins(to + 1) ? sign * contributions[to + 1] : -Infinity;
      if (Math.max(left, right) < neighbourFloor) break;
      if (left >= right) from--;
      else to++;
    }
    for (let i = from; i <= to; i++) taken[i] = 1;
    const phrase = ctx.text.slice(tokens[from].start, tokens[to].end);
    if (!out.some((p) => p.toLowerCase() === phrase.toLowerCase())) out.push(phrase);
  }
  return out;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const specKey = (spec: LinearModel['spec']) => `${spec.bits}/${spec.charNgrams.join(',')}/${spec.bigrams}`;

/** The English-vs-Dutch call of a language model. */
export function languageModelOf(model: LinearModel): LanguageModel {
  const en = model.labels.indexOf('en');
  return (tokens) => {
    const z = logits(model, extractLanguageFeatures(tokens, model.spec));
    const pEn = 1 / (1 + Math.exp(-(z[en] - z[1 - en])));
    return pEn >= 0.5 ? { lang: 'en', p: pEn } : { lang: 'nl', p: 1 - pEn };
  };
}

/** A TextModel over a set of linear models. Languages or tasks without a model keep the rules' verdict. */
export function createLearnedModel(models: ModelSet): TextModel {
  const languageModel = models['language-any'];
  const { 'sentiment-en': sentimentEn, 'sentiment-nl': sentimentNl, 'complaint-en': complaintEn, 'complaint-nl': complaintNl } = models;
  const keys = new Map<LinearModel, string>();
  for (const m of Object.values(models)) if (m) keys.set(m, specKey(m.spec));
  return {
    language: languageModel ? languageModelOf(languageModel) : undefined,
    judge(ctx: AnalysisContext): TextModelVerdict | undefined {
      const lang = ctx.ruleLang;
      if (!lang) return undefined;
      const verdict: TextModelVerdict = {};
      const sentimentModel = lang === 'en' ? sentimentEn : sentimentNl;
      const complaintModel = lang === 'en' ? complaintEn : complaintNl;
      // Both models of a language share one feature spec in practice; extract once when they do.
      let features: FeatureVector | undefined;
      let featuresKey: string | undefined;
      const featuresFor = (m: LinearModel) => {
        const key = keys.get(m)!;
        if (!features || featuresKey !== key) {
          features = extractFeatures(ctx, m.spec);
          featuresKey = key;
        }
        return features;
      };

      if (sentimentModel) {
        const f = featuresFor(sentimentModel);
        const p = softmax(logits(sentimentModel, f));
        const neg = sentimentModel.labels.indexOf('negative');
        const pos = sentimentModel.labels.indexOf('positive');
        let best = 0;
        for (let c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
        const score = p[pos] - p[neg];
        verdict.sentiment = {
          label: sentimentModel.labels[best] as SentimentLabel,
          score: round3(score),
          confidence: round3(p[best] * (ctx.language.lang === 'und' ? 0.7 : 1)),
        };
        // A neutral post has no sentiment reasons to give (and most posts are neutral or clear-cut).
        if (verdict.sentiment.label === 'neutral') verdict.evidence = { negative: [], positive: [] };
        else {
          const contributions = tokenContributions(sentimentModel, f, ctx, pos, neg);
          verdict.evidence = { negative: phrasesFrom(ctx, contributions, -1), positive: phrasesFrom(ctx, contributions, 1) };
        }
      }
      if (complaintModel) {
        const f = featuresFor(complaintModel);
        const z = logits(complaintModel, f);
        const score = 1 / (1 + Math.exp(-(z[1] - z[0])));
        verdict.complaint = { label: score >= complaintModel.threshold, score: round3(score) };
        // Only a complaint has complaint evidence: cue words in a happy post are not reasons.
        const complaint = verdict.complaint.label ? phrasesFrom(ctx, tokenContributions(complaintModel, f, ctx, 1, 0), 1) : [];
        verdict.evidence = { ...verdict.evidence, complaint };
      }
      return verdict;
    },
  };
}
