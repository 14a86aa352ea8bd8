import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { analyzeContext, analyzeOne, createAnalyzer } from '../../src/analysis';
import { detectLanguage } from '../../src/analysis/language';
import { tokenize } from '../../src/analysis/tokenize';
import { createLearnedModel, loadModels, MODELS_DIR, modelFileName, SHIPPED_MODELS, type ModelKey } from '../../src/analysis/model';
import { copyFeatures, dimensionOf, extractFeatures, type FeatureSpec } from '../../src/analysis/model/features';
import { decodeModel, encodeModel, logits, readModelFile, slotMajor, type LinearModel } from '../../src/analysis/model/linear';
import { trainLogistic } from '../../src/analysis/model/train';
import { thrown } from '../helpers';

const SPEC: FeatureSpec = { bits: 12, charNgrams: [3], bigrams: true };

/** A small model trained here on made-up posts: enough to exercise the file format and explanations. */
function toyModel(): LinearModel {
  const posts: [string, number][] = [
    ['this is terrible and broken', 0],
    ['awful service, terrible', 0],
    ['broken again, awful', 0],
    ['the parcel arrived today', 1],
    ['we fly to Paris on Monday', 1],
    ['great help, lovely staff', 2],
    ['lovely and great', 2],
    ['thanks, great service', 2],
  ];
  const dim = dimensionOf(SPEC);
  const examples = posts.map(([text, label]) => ({ ...copyFeatures(extractFeatures(analyzeContext({ text, langHint: 'en' }), SPEC)), label }));
  const w = trainLogistic(examples, { dim, classes: 3, l2: 1e-3, unpenalised: [1 << SPEC.bits] });
  return {
    task: 'sentiment',
    lang: 'en',
    labels: ['negative', 'neutral', 'positive'],
    spec: SPEC,
    weights: slotMajor(w, dim, 3),
    dim,
    threshold: 0.5,
    meta: { toy: true },
  };
}

describe('linear model file', () => {
  const model = toyModel();

  test('round-trips through the file format within the quantisation step, byte-for-byte deterministic', () => {
    const bytes = encodeModel(model);
    expect(encodeModel(model).equals(bytes)).toBe(true);
    const back = decodeModel(bytes, 'toy');
    expect(back.labels).toEqual(model.labels);
    expect(back.spec).toEqual(model.spec);
    let max = 0;
    for (const w of model.weights) max = Math.max(max, Math.abs(w));
    const step = max / 32767;
    for (let j = 0; j < model.weights.length; j++) expect(Math.abs(back.weights[j] - model.weights[j])).toBeLessThanOrEqual(step);
  });

  test('the toy model learned what it was shown', () => {
    const f = (text: string) => logits(model, extractFeatures(analyzeContext({ text, langHint: 'en' }), SPEC));
    const bad = f('terrible, broken');
    expect(bad[0]).toBeGreaterThan(bad[2]);
    const good = f('lovely staff');
    expect(good[2]).toBeGreaterThan(good[0]);
  });

  test.each([
    ['not gzip', () => Buffer.from('hello'), /not a gzip JSON model file/],
    ['wrong format tag', (b: Buffer) => edit(b, (j) => (j.format = 'other/9')), /format/],
    ['other dense features', (b: Buffer) => edit(b, (j) => (j.dense = ['bias'])), /other dense features/],
    ['truncated weight table', (b: Buffer) => edit(b, (j) => (j.weights = String(j.weights).slice(0, 8))), /do not match/],
  ])('a broken model file (%s) is RW_ERR_MODEL_INVALID naming the file', (_name, breakIt, why) => {
    const broken = breakIt(encodeModel(model));
    const err = thrown(() => decodeModel(broken, 'models/sentiment-en.json.gz'));
    expect(err.code).toBe('RW_ERR_MODEL_INVALID');
    expect(err.message).toContain('models/sentiment-en.json.gz');
    expect(err.message).toMatch(why);
    expect(err.message).toContain('npm run train');
  });

  test('a missing model file is RW_ERR_MODEL_INVALID, and so is a models folder lacking one', () => {
    expect(thrown(() => readModelFile('/nonexistent/sentiment-en.json.gz')).code).toBe('RW_ERR_MODEL_INVALID');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'repwatch-models-'));
    copyFileSync(path.join(MODELS_DIR, modelFileName('sentiment', 'en')), path.join(dir, modelFileName('sentiment', 'en')));
    const err = thrown(() => loadModels(dir));
    expect(err.code).toBe('RW_ERR_MODEL_INVALID');
    expect(err.message).toContain(modelFileName('language', 'any'));
  });
});

function edit(bytes: Buffer, change: (json: Record<string, unknown>) => void): Buffer {
  const json = JSON.parse(gunzipSync(bytes).toString('utf8')) as Record<string, unknown>;
  change(json);
  return gzipSync(JSON.stringify(json));
}

describe('shipped models', () => {
  test('every shipped model loads, with the task, language and training record it claims', () => {
    const models = loadModels();
    for (const [task, lang] of SHIPPED_MODELS) {
      const m = models[`${task}-${lang}` as ModelKey]!;
      expect(m.task).toBe(task);
      expect(m.lang).toBe(lang);
      expect(Object.keys(m.meta.trainedOn as object).length).toBeGreaterThan(0);
      expect(JSON.stringify(m.meta)).not.toContain('semeval');
    }
  });

  test('are small enough to ship', () => {
    for (const [task, lang] of SHIPPED_MODELS) {
      expect(readFileSync(path.join(MODELS_DIR, modelFileName(task, lang))).length).toBeLessThan(3 * 1024 * 1024);
    }
  });

  test.each([
    ['en', 'My order still hasn’t arrived, can you check? @shop', 'negative', true],
    ['en', 'Thank you so much @KLM, the crew was wonderful!', 'positive', false],
    ['en', 'Flight 1234 departs from gate B12 at 14:30.', 'neutral', false],
    ['nl', 'Mijn pakket is nog steeds niet geleverd @bol, waardeloze service', 'negative', true],
    ['nl', 'Wat een geweldige service, dank jullie wel!', 'positive', false],
  ])('%s: %s → %s (complaint %s)', (lang, text, label, complaint) => {
    const j = analyzeOne({ text, langHint: lang });
    expect(j.sentiment.label).toBe(label);
    expect(j.complaint.label).toBe(complaint);
    expect(j.sentiment.score).toBeGreaterThanOrEqual(-1);
    expect(j.sentiment.score).toBeLessThanOrEqual(1);
    expect(j.sentiment.confidence).toBeGreaterThan(0);
    expect(j.sentiment.confidence).toBeLessThanOrEqual(1);
  });

  test('explanations quote the post’s own words that drove the decision', () => {
    const text = 'De klantenservice is waardeloos, mijn pakket is nog steeds niet geleverd';
    const j = analyzeOne({ text, langHint: 'nl' });
    expect(j.sentiment.label).toBe('negative');
    expect(j.evidence.negative.join(' ')).toMatch(/waardeloos/);
    for (const e of [...j.evidence.negative, ...j.evidence.positive, ...j.evidence.complaint]) expect(text).toContain(e);

    const en = analyzeOne({ text: '@airline worst service ever, my bag is still missing and nobody answers', langHint: 'en' });
    expect(en.complaint.label).toBe(true);
    expect(en.evidence.negative.join(' ')).toMatch(/worst/);
    expect(en.evidence.complaint.length).toBeGreaterThan(0);
  });

  test('Dutch complaints are decided by the learned Dutch model; a language without a model keeps the rules’ verdict (French)', () => {
    const rules = createAnalyzer();
    const models = loadModels();
    const learned = createAnalyzer({ model: createLearnedModel(models) });
    const nl = 'Waarom is mijn pakket nog steeds niet bezorgd? Graag een reactie @postnl';
    const j = learned.analyzeOne({ text: nl, langHint: 'nl' });
    expect(j.complaint.label).toBe(true);
    expect(j.complaint).not.toEqual(rules.analyzeOne({ text: nl, langHint: 'nl' }).complaint);
    // Without the Dutch complaint model, the rules decide Dutch complaints again.
    const withoutNl = createAnalyzer({ model: createLearnedModel({ ...models, 'complaint-nl': undefined }) });
    expect(withoutNl.analyzeOne({ text: nl, langHint: 'nl' }).complaint).toEqual(rules.analyzeOne({ text: nl, langHint: 'nl' }).complaint);
    const fr = 'Le service client est vraiment nul, je suis très déçu';
    expect(learned.analyzeOne({ text: fr, langHint: 'fr' })).toEqual(rules.analyzeOne({ text: fr, langHint: 'fr' }));
  });

  test.each([
    ['Heerlijke appeltaart gegeten, aanrader', 'nl'],
    ['Awesome sunset tonight, amazing colours', 'en'],
  ])('the language model decides posts the function words leave open: %s → %s', (text, expected) => {
    const learned = createLearnedModel(loadModels());
    const tokens = tokenize(text);
    expect(detectLanguage(tokens).source).toBe('tinyld'); // what the rules alone would do
    const result = detectLanguage(tokens, undefined, learned.language);
    expect(result).toMatchObject({ lang: expected, source: 'model' });
    expect(result.confidence).toBeGreaterThan(0.4);
  });

  test('French and German still go to tinyld; short posts stay und with a low confidence', () => {
    const learned = createLearnedModel(loadModels());
    const fr = detectLanguage(tokenize('Le service client est vraiment nul, je suis très déçu'), undefined, learned.language);
    expect(fr.lang).toBe('fr');
    const short = detectLanguage(tokenize('thanks!! 😍'), undefined, learned.language);
    expect(short.lang).toBe('und');
    expect(short.confidence).toBeLessThanOrEqual(0.2);
  });

  test('a copied model folder loads the same models', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'repwatch-models-'));
    for (const [task, lang] of SHIPPED_MODELS) {
      const name = modelFileName(task, lang);
      writeFileSync(path.join(dir, name), readFileSync(path.join(MODELS_DIR, name)));
    }
    const a = loadModels(dir)['sentiment-en']!;
    const b = loadModels()['sentiment-en']!;
    expect(Buffer.from(a.weights.buffer).equals(Buffer.from(b.weights.buffer))).toBe(true);
  });
});
