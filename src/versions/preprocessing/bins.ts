/**
 * The bins of a numeric feature's training statistics: the deciles of its training rows cut the
 * line into ten bins. Fitting (src/datasets/fit.ts) records the training share of each; drift
 * (src/prediction/drift) counts live inputs into the same bins.
 */

/**
 * The share of `values` in each of the bins `edges` make: (-inf, e0], (e0, e1], … (e_last, inf).
 */
export function binShares(edges: readonly number[], values: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[binOf(edges, v)]!++;
  return counts.map((c) => (values.length > 0 ? c / values.length : 0));
}

/** The bin of `value`: the first edge it does not exceed, or the last bin. */
export function binOf(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
