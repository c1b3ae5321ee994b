/**
 * Integrated gradients (Sundararajan et al., 2017): the attribution of input i is
 * (xᵢ − x'ᵢ) · ∫₀¹ ∂F/∂xᵢ(x' + t(x − x')) dt, and the attributions sum to F(x) − F(x')
 * (completeness) exactly for the exact integral. The integral is a trapezoid sum whose steps
 * double, each doubling reusing every gradient taken so far, until the sum is complete within
 * `tolerance` or `maxSteps` is reached; the gap left is reported.
 */
import type { InputGradients } from "../../engine/index.ts";

export interface Attribution {
  /** One value per input column. */
  values: Float64Array;
  /** F(x) and F(x'). */
  output: number;
  baselineOutput: number;
  /** Σ values − (F(x) − F(x')): what the step count left of completeness. */
  gap: number;
  steps: number;
}

export interface IntegrationOptions {
  tolerance: number;
  minSteps: number;
  maxSteps: number;
  /** Called between batches of gradients, so a long integration can yield the event loop. */
  pause?: () => Promise<void>;
}

/**
 * F = sign · output[unit] + offset: sign −1 and offset 1 explain the probability 1 − p of a
 * one-unit binary classifier's first class; a regressor's scale goes into sign.
 */
export async function integratedGradients(
  gradients: InputGradients,
  x: Float64Array,
  baseline: Float64Array,
  unit: number,
  sign: number,
  offset: number,
  options: IntegrationOptions,
): Promise<Attribution> {
  const n = x.length;
  const delta = new Float64Array(n);
  for (let i = 0; i < n; i++) delta[i] = x[i]! - baseline[i]!;
  const point = new Float64Array(n);
  const g = new Float64Array(n);
  // ends: (∇F(x') + ∇F(x)) / 2; interior: the sum of ∇F at every interior point so far.
  const ends = new Float64Array(n);
  const interior = new Float64Array(n);
  const at = (t: number) => {
    for (let i = 0; i < n; i++) point[i] = baseline[i]! + t * delta[i]!;
    return sign * gradients.gradient(point, unit, g) + offset;
  };
  const baselineOutput = at(0);
  for (let i = 0; i < n; i++) ends[i] = (sign * g[i]!) / 2;
  const output = at(1);
  for (let i = 0; i < n; i++) ends[i]! += (sign * g[i]!) / 2;

  const values = new Float64Array(n);
  let steps = 1;
  let gap = Number.POSITIVE_INFINITY;
  for (;;) {
    const h = 1 / steps;
    for (let i = 0; i < n; i++) values[i] = delta[i]! * h * (ends[i]! + interior[i]!);
    let sum = 0;
    for (const v of values) sum += v;
    gap = sum - (output - baselineOutput);
    if (
      (steps >= options.minSteps && Math.abs(gap) <= options.tolerance) ||
      steps >= options.maxSteps
    )
      break;
    // The midpoints of the current steps are the new points of twice as many.
    for (let k = 0; k < steps; k++) {
      at((k + 0.5) * h);
      for (let i = 0; i < n; i++) interior[i]! += sign * g[i]!;
      if (options.pause && k % 64 === 63) await options.pause();
    }
    steps *= 2;
  }
  return { values, output, baselineOutput, gap, steps };
}
