/**
 * A trained linear model and its file format.
 *
 * File: gzip'd JSON. Weights are stored sparsely (only slots with a weight) and quantised to 16-bit
 * integers with one scale per model, which keeps a shipped model under a megabyte; scores differ
 * from the trained float weights by far less than any decision margin.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { RepwatchError } from '../../domain/errors';
import { DENSE_FEATURES, dimensionOf, type FeatureSpec, type FeatureVector } from './features';

export const MODEL_FORMAT = 'repwatch-linear/1';
export type ModelTask = 'sentiment' | 'complaint' | 'language';

export interface LinearModel {
  task: ModelTask;
  /** The language it judges ('any' for the language model itself). */
  lang: 'en' | 'nl' | 'any';
  /** Class names in weight order. */
  labels: readonly string[];
  spec: FeatureSpec;
  /** Dense weights, slot-major so one slot's classes share a cache line: weights[slot * classes + c]. */
  weights: Float32Array;
  dim: number;
  /** Decision threshold for binary models (probability of labels[1]). */
  threshold: number;
  /** What it was trained on, for the record. */
  meta: Record<string, unknown>;
}

const fileSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  task: z.enum(['sentiment', 'complaint', 'language']),
  lang: z.enum(['en', 'nl', 'any']),
  labels: z.array(z.string()).min(2),
  spec: z.object({ bits: z.number().int().min(8).max(24), charNgrams: z.array(z.number().int().min(1).max(8)), bigrams: z.boolean() }),
  dense: z.array(z.string()),
  threshold: z.number().min(0).max(1),
  scale: z.number().positive(),
  /** base64 of Uint32 slots, ascending. */
  slots: z.string(),
  /** base64 of Int16 weights, class-major over `slots`. */
  weights: z.string(),
  meta: z.record(z.string(), z.unknown()),
});

/** Serialises a model (deterministic: the same weights give the same bytes). */
export function encodeModel(model: LinearModel): Buffer {
  const { dim, labels, weights } = model;
  const slots: number[] = [];
  let max = 0;
  for (let j = 0; j < dim; j++) {
    let any = false;
    for (let c = 0; c < labels.length; c++) {
      const w = Math.abs(weights[j * labels.length + c]);
      if (w > 0) any = true;
      if (w > max) max = w;
    }
    if (any) slots.push(j);
  }
  const scale = max > 0 ? max / 32767 : 1;
  const q = new Int16Array(slots.length * labels.length);
  for (let c = 0; c < labels.length; c++) {
    for (let k = 0; k < slots.length; k++) q[c * slots.length + k] = Math.round(weights[slots[k] * labels.length + c] / scale);
  }
  const file = {
    format: MODEL_FORMAT,
    task: model.task,
    lang: model.lang,
    labels,
    spec: model.spec,
    dense: DENSE_FEATURES,
    threshold: model.threshold,
    scale,
    slots: Buffer.from(new Uint32Array(slots).buffer).toString('base64'),
    weights: Buffer.from(q.buffer).toString('base64'),
    meta: model.meta,
  };
  return gzipSync(JSON.stringify(file), { level: 9 });
}

/** Reads a model file; anything wrong with it is RW_ERR_MODEL_INVALID naming the file. */
export function decodeModel(bytes: Buffer, source: string): LinearModel {
  const invalid = (why: string, cause?: unknown) =>
    new RepwatchError('RW_ERR_MODEL_INVALID', `model ${source} is unusable: ${why}; run \`npm run train\` to rebuild it`, { cause, details: { source } });
  let raw: unknown;
  try {
    raw = JSON.parse(gunzipSync(bytes).toString('utf8'));
  } catch (err) {
    throw invalid('not a gzip JSON model file', err);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw invalid(parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; '));
  const f = parsed.data;
  if (f.dense.join(',') !== DENSE_FEATURES.join(',')) throw invalid('trained with other dense features than this version computes');
  const spec: FeatureSpec = f.spec;
  const dim = dimensionOf(spec);
  const slotBytes = Buffer.from(f.slots, 'base64');
  const weightBytes = Buffer.from(f.weights, 'base64');
  const n = slotBytes.length / 4;
  if (!Number.isInteger(n) || weightBytes.length !== n * 2 * f.labels.length) throw invalid('slot and weight tables do not match');
  const slots = new Uint32Array(slotBytes.buffer.slice(slotBytes.byteOffset, slotBytes.byteOffset + slotBytes.length));
  const q = new Int16Array(weightBytes.buffer.slice(weightBytes.byteOffset, weightBytes.byteOffset + weightBytes.length));
  const weights = new Float32Array(dim * f.labels.length);
  for (let k = 0; k < n; k++) {
    if (slots[k] >= dim) throw invalid(`slot ${slots[k]} outside the feature space`);
    for (let c = 0; c < f.labels.length; c++) weights[slots[k] * f.labels.length + c] = q[c * n + k] * f.scale;
  }
  return { task: f.task, lang: f.lang, labels: f.labels, spec, weights, dim, threshold: f.threshold, meta: f.meta };
}

export function readModelFile(file: string): LinearModel {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new RepwatchError('RW_ERR_MODEL_INVALID', `model ${file} cannot be read: run \`npm run train\` to build it`, { cause: err, details: { source: file } });
  }
  return decodeModel(bytes, file);
}

/** Slot-major Float32 weights from the trainer's class-major doubles. */
export function slotMajor(classMajor: ArrayLike<number>, dim: number, classes: number): Float32Array {
  const out = new Float32Array(dim * classes);
  for (let c = 0; c < classes; c++) for (let j = 0; j < dim; j++) out[j * classes + c] = classMajor[c * dim + j];
  return out;
}

/** Weight of one slot for one class. */
export const weightOf = (model: LinearModel, slot: number, c: number) => model.weights[slot * model.labels.length + c];

/** Raw class scores (logits) of one feature vector. */
export function logits(model: LinearModel, f: FeatureVector): Float64Array {
  const K = model.labels.length;
  const out = new Float64Array(K);
  const { weights } = model;
  for (let k = 0; k < f.n; k++) {
    const base = f.index[k] * K;
    const v = f.value[k];
    for (let c = 0; c < K; c++) out[c] += weights[base + c] * v;
  }
  return out;
}

/**
 * Logits, and per feature how much it pushes class `plus` over class `minus` (into `diff`, which
 * must hold f.n entries): one pass over the features serves the decision and its explanation.
 */
export function logitsWithDiff(model: LinearModel, f: FeatureVector, plus: number, minus: number, diff: Float64Array): Float64Array {
  const K = model.labels.length;
  const out = new Float64Array(K);
  const { weights } = model;
  for (let k = 0; k < f.n; k++) {
    const base = f.index[k] * K;
    const v = f.value[k];
    for (let c = 0; c < K; c++) out[c] += weights[base + c] * v;
    diff[k] = (weights[base + plus] - weights[base + minus]) * v;
  }
  return out;
}

/** Softmax of logits, in place. */
export function softmax(z: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  let sum = 0;
  for (let c = 0; c < z.length; c++) sum += z[c] = Math.exp(z[c] - max);
  for (let c = 0; c < z.length; c++) z[c] /= sum;
  return z;
}
