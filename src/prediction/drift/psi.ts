/**
 * The population stability index of live counts against training shares:
 * PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over the bins, shares floored at EPSILON so that an empty bin
 * (an unseen category has a training share of 0) counts as very unlikely rather than infinite.
 * The usual reading: below 0.1 stable, 0.1 to 0.2 a moderate shift, above 0.2 a significant one.
 */
export const EPSILON = 1e-4;
export const DRIFT_THRESHOLD = 0.2;

export function psi(expected: readonly number[], counts: readonly number[]): number {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return 0;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] ?? 0, EPSILON);
    const a = Math.max((counts[i] ?? 0) / total, EPSILON);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}
