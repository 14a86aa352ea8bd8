/**
 * The figures of ../shared/tools/eval-metrics.mjs, computed in-process with the same definitions
 * (per-class F1 over the labels present, macro averages, negative-vs-rest from 3-class output).
 */

export interface Scores {
  macroF1: number;
  macroRecall: number;
  accuracy: number;
  negVsRestMacroF1: number;
}

function perClass(gold: readonly string[], pred: readonly string[], classes: readonly string[]) {
  return classes.map((c) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < gold.length; i++) {
      if (pred[i] === c && gold[i] === c) tp++;
      else if (pred[i] === c) fp++;
      else if (gold[i] === c) fn++;
    }
    const precision = tp + fp ? tp / (tp + fp) : 0;
    const recall = tp + fn ? tp / (tp + fn) : 0;
    return { f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, recall };
  });
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Scores predicted labels against gold ones; `classes` are the labels the set uses. */
export function score(gold: readonly string[], pred: readonly string[], classes: readonly string[]): Scores {
  const pc = perClass(gold, pred, classes);
  const isNeg = (x: string) => (x === 'negative' ? 'n' : 'o');
  const neg = perClass(gold.map(isNeg), pred.map(isNeg), ['n', 'o']);
  return {
    macroF1: mean(pc.map((x) => x.f1)),
    macroRecall: mean(pc.map((x) => x.recall)),
    accuracy: gold.filter((g, i) => g === pred[i]).length / gold.length,
    negVsRestMacroF1: mean(neg.map((x) => x.f1)),
  };
}
