/**
 * Multinomial logistic regression with L2 regularisation, fitted by L-BFGS over sparse examples.
 *
 * Full-batch and free of randomness, so the same examples give the same weights on every run
 * (`npm run train` is reproducible, and a test holds it to that). Small: used at development time
 * only, by scripts/train.ts and scripts/eval.ts.
 */

export interface TrainingExample {
  index: ArrayLike<number>;
  value: ArrayLike<number>;
  /** Entries used in index/value. */
  n: number;
  /** Class number, 0..classes-1. */
  label: number;
  /** Weight of this example in the loss (1 by default). */
  weight?: number;
}

export interface TrainOptions {
  dim: number;
  classes: number;
  /** L2 strength (per example: the loss is mean log-loss + l2/2 · |w|²). */
  l2: number;
  /** Slots that are not regularised (the bias). */
  unpenalised?: readonly number[];
  maxIterations?: number;
  /** Stop when the loss improves by less than this (relative) over 5 iterations. */
  tolerance?: number;
  /** L-BFGS history length. */
  memory?: number;
  onIteration?: (iteration: number, loss: number) => void;
}

/** Weights, class-major: weights[c * dim + j]. */
export type Weights = Float64Array;

/** Loss and gradient of the regularised log-loss at w. */
function lossAndGradient(examples: readonly TrainingExample[], w: Weights, grad: Weights, o: TrainOptions, penalised: Float64Array): number {
  const { dim, classes: K } = o;
  grad.fill(0);
  const logits = new Float64Array(K);
  let loss = 0;
  let total = 0;
  for (const ex of examples) {
    const weight = ex.weight ?? 1;
    total += weight;
    let max = -Infinity;
    for (let c = 0; c < K; c++) {
      let z = 0;
      const off = c * dim;
      for (let k = 0; k < ex.n; k++) z += w[off + ex.index[k]] * ex.value[k];
      logits[c] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let c = 0; c < K; c++) sum += Math.exp(logits[c] - max);
    const logSum = max + Math.log(sum);
    loss += weight * (logSum - logits[ex.label]);
    for (let c = 0; c < K; c++) {
      const p = Math.exp(logits[c] - logSum);
      const d = weight * (p - (c === ex.label ? 1 : 0));
      if (d === 0) continue;
      const off = c * dim;
      for (let k = 0; k < ex.n; k++) grad[off + ex.index[k]] += d * ex.value[k];
    }
  }
  const inv = 1 / total;
  loss *= inv;
  let reg = 0;
  for (let j = 0; j < w.length; j++) {
    grad[j] *= inv;
    const r = penalised[j % dim] * w[j];
    if (r !== 0) {
      reg += r * w[j];
      grad[j] += o.l2 * r;
    }
  }
  return loss + 0.5 * o.l2 * reg;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Fits the weights. Deterministic for a given example order. Only slots some example uses are
 * optimised (hashed spaces are mostly empty); the others stay 0.
 */
export function trainLogistic(examples: readonly TrainingExample[], o: TrainOptions): Weights {
  const slotOf = new Int32Array(o.dim).fill(-1);
  const used: number[] = [];
  const mark = (j: number) => {
    if (slotOf[j] < 0) {
      slotOf[j] = used.length;
      used.push(j);
    }
  };
  for (const j of o.unpenalised ?? []) mark(j);
  for (const ex of examples) for (let k = 0; k < ex.n; k++) mark(ex.index[k]);
  const compact = examples.map((ex) => {
    const index = new Int32Array(ex.n);
    for (let k = 0; k < ex.n; k++) index[k] = slotOf[ex.index[k]];
    return { index, value: ex.value, n: ex.n, label: ex.label, weight: ex.weight };
  });
  const unpenalised = (o.unpenalised ?? []).map((j) => slotOf[j]);
  const w = fit(compact, { ...o, dim: used.length, unpenalised });
  const out = new Float64Array(o.dim * o.classes);
  for (let c = 0; c < o.classes; c++) for (let k = 0; k < used.length; k++) out[c * o.dim + used[k]] = w[c * used.length + k];
  return out;
}

function fit(examples: readonly TrainingExample[], o: TrainOptions): Weights {
  const n = o.dim * o.classes;
  const m = o.memory ?? 10;
  const maxIterations = o.maxIterations ?? 200;
  const tolerance = o.tolerance ?? 1e-5;
  const penalised = new Float64Array(o.dim).fill(1);
  for (const j of o.unpenalised ?? []) penalised[j] = 0;

  let w: Weights = new Float64Array(n);
  let g = new Float64Array(n);
  let loss = lossAndGradient(examples, w, g, o, penalised);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const history: number[] = [loss];
  const direction = new Float64Array(n);
  const alpha = new Float64Array(m);
  const wNext = new Float64Array(n);
  const gNext = new Float64Array(n);

  for (let it = 1; it <= maxIterations; it++) {
    // Two-loop recursion: direction = -H·g.
    for (let i = 0; i < n; i++) direction[i] = -g[i];
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = rho[k] * dot(s[k], direction);
      const yk = y[k];
      for (let i = 0; i < n; i++) direction[i] -= alpha[k] * yk[i];
    }
    if (s.length > 0) {
      const last = s.length - 1;
      const gamma = dot(s[last], y[last]) / dot(y[last], y[last]);
      for (let i = 0; i < n; i++) direction[i] *= gamma;
    }
    for (let k = 0; k < s.length; k++) {
      const beta = rho[k] * dot(y[k], direction);
      const sk = s[k];
      for (let i = 0; i < n; i++) direction[i] += (alpha[k] - beta) * sk[i];
    }

    let slope = dot(g, direction);
    if (slope >= 0) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      s.length = y.length = rho.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -g[i];
      slope = dot(g, direction);
    }
    // Backtracking line search (Armijo); the first step is scaled so it cannot leap far.
    let step = s.length === 0 ? 1 / Math.sqrt(Math.max(1e-12, -slope)) : 1;
    let nextLoss = Infinity;
    for (let tries = 0; tries < 30; tries++) {
      for (let i = 0; i < n; i++) wNext[i] = w[i] + step * direction[i];
      nextLoss = lossAndGradient(examples, wNext, gNext, o, penalised);
      if (nextLoss <= loss + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(nextLoss < loss)) break;

    const sk = new Float64Array(n);
    const yk = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sk[i] = wNext[i] - w[i];
      yk[i] = gNext[i] - g[i];
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12) {
      if (s.length === m) {
        s.shift();
        y.shift();
        rho.shift();
      }
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
    }
    w.set(wNext);
    g.set(gNext);
    loss = nextLoss;
    history.push(loss);
    o.onIteration?.(it, loss);
    if (history.length > 5) {
      const before = history[history.length - 6];
      if ((before - loss) / Math.max(1e-12, Math.abs(loss)) < tolerance) break;
    }
  }
  return w;
}
