/**
 * Per-batch counts behind the reported metrics: accuracy for classification (arg-max match for
 * the categorical losses, 0.5 threshold per output otherwise) and mean absolute error for
 * regression. Counts are summed over an epoch and divided once.
 */
import { LOSS_CCE, LOSS_SCCE } from "./losses.ts";

/** Number of correct predictions in a batch; `of` how many were judged (rows or rows×N). */
export function countCorrect(
  m: Float32Array,
  loss: number,
  a: number,
  t: number,
  labels: Int32Array,
  rows: number,
  N: number,
): number {
  let correct = 0;
  if (loss === LOSS_CCE || loss === LOSS_SCCE) {
    for (let r = 0; r < rows; r++) {
      const predicted = argMax(m, a + r * N, N);
      const actual = loss === LOSS_SCCE ? labels[r] : argMax(m, t + r * N, N);
      if (predicted === actual) correct++;
    }
    return correct;
  }
  const n = rows * N;
  for (let i = 0; i < n; i++) if (m[a + i] >= 0.5 === m[t + i] >= 0.5) correct++;
  return correct;
}

/** How many judgements countCorrect makes for a batch. */
export function judgedPerRow(loss: number, N: number): number {
  return loss === LOSS_CCE || loss === LOSS_SCCE ? 1 : N;
}

/** Σ |a − t| over the batch (divide by rows×N for the mean). */
export function absoluteErrorSum(m: Float32Array, a: number, t: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(m[a + i] - m[t + i]);
  return s;
}

function argMax(m: Float32Array, off: number, n: number): number {
  let best = 0;
  let max = m[off];
  for (let j = 1; j < n; j++) {
    if (m[off + j] > max) {
      max = m[off + j];
      best = j;
    }
  }
  return best;
}
