/**
 * What the held-out evaluation keeps besides its scores, for the plots people read: a
 * regressor's predicted and actual values (the first MAX_POINTS test rows, in the target's
 * units), and a binary classifier's ROC and precision-recall curves with their areas. The
 * curves are thinned to at most MAX_CURVE_POINTS points, so a large test split stores a few
 * kilobytes, not one point per row.
 */

export const MAX_POINTS = 500;
export const MAX_CURVE_POINTS = 101;

export interface RegressionPoints {
  actual: number[];
  predicted: number[];
}

export interface BinaryCurves {
  /** The class whose probability is the score (the second of the version's two classes). */
  positive: string;
  /** [false positive rate, true positive rate] from (0, 0) to (1, 1). */
  roc: [number, number][];
  auc: number;
  /** [recall, precision], recall rising. */
  pr: [number, number][];
  /** Average precision: the sum over thresholds of precision times the recall gained. */
  averagePrecision: number;
}

export function regressionPoints(
  truth: ArrayLike<number>,
  predicted: readonly number[],
): RegressionPoints {
  const n = Math.min(truth.length, MAX_POINTS);
  return {
    actual: Array.from({ length: n }, (_, i) => truth[i] as number),
    predicted: predicted.slice(0, n),
  };
}

/** Every k-th point, always keeping the last, so a curve keeps its ends. */
function thin(points: [number, number][]): [number, number][] {
  if (points.length <= MAX_CURVE_POINTS) return points;
  const step = (points.length - 1) / (MAX_CURVE_POINTS - 1);
  return Array.from(
    { length: MAX_CURVE_POINTS },
    (_, i) => points[Math.round(i * step)] as [number, number],
  );
}

/**
 * ROC and PR curves of `scores` (the positive class's probability) against `positives` (true
 * when the row is of the positive class); null when the test rows hold only one class.
 */
export function binaryCurves(
  positive: string,
  scores: readonly number[],
  positives: readonly boolean[],
): BinaryCurves | null {
  const total = positives.filter(Boolean).length;
  const negatives = positives.length - total;
  if (total === 0 || negatives === 0) return null;
  const order = scores
    .map((_, i) => i)
    .sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const roc: [number, number][] = [[0, 0]];
  const pr: [number, number][] = [];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  let averagePrecision = 0;
  let previousRecall = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    if (positives[i]) tp++;
    else fp++;
    // Tied scores are one threshold: a point only after the last row of a tie.
    const next = order[k + 1];
    if (next !== undefined && scores[next] === scores[i]) continue;
    const tpr = tp / total;
    const fpr = fp / negatives;
    const [lastFpr, lastTpr] = roc.at(-1) as [number, number];
    auc += ((fpr - lastFpr) * (tpr + lastTpr)) / 2;
    roc.push([fpr, tpr]);
    const precision = tp / (tp + fp);
    averagePrecision += (tpr - previousRecall) * precision;
    previousRecall = tpr;
    pr.push([tpr, precision]);
  }
  return { positive, roc: thin(roc), auc, pr: thin(pr), averagePrecision };
}
