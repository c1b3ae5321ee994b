/**
 * Class indices as the Float32 targets a non-sparse cross-entropy trains on: a 0/1 column for
 * one sigmoid unit, one-hot rows for a softmax or several sigmoids (one-vs-rest). Inline
 * requests and datasets store labels this way for every loss but sparseCategoricalCrossentropy.
 */
export function labelTargets(
  labels: ArrayLike<number>,
  units: number,
): { width: number; values: Float32Array } {
  if (units === 1) return { width: 1, values: Float32Array.from(labels) };
  const values = new Float32Array(labels.length * units);
  for (let r = 0; r < labels.length; r++) values[r * units + (labels[r] as number)] = 1;
  return { width: units, values };
}
