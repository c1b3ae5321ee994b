/**
 * The gradient of one output of a network with respect to its inputs, one row at a time: what
 * attribution methods (integrated gradients, src/prediction/explain) integrate. It runs on its
 * own float64 copy of the parameters, so it neither touches the network's arena nor depends on
 * its kernel backend, and its sums carry far less rounding than the float32 forward pass.
 *
 * Per row x: forward a₀ = x, zₗ = aₗ₋₁·Wₗ + bₗ, aₗ = f(zₗ), keeping every aₗ; then backward from
 * the chosen output unit u: dF/dz_L is e_u·f'(a_L) (softmax: a_u(δ_uj − a_j)), and
 * dF/daₗ₋₁ = Wₗ·dF/dzₗ, dF/dzₗ₋₁ = dF/daₗ₋₁ ⊙ f'(aₗ₋₁), down to dF/dx = W₁·dF/dz₁.
 */
import { ACT_SOFTMAX, ACTIVATION_INFO } from "./activations.ts";
import { EngineError } from "./errors.ts";
import { activate, derivative } from "./kernels.ts";
import type { Network } from "./network.ts";

interface Layer {
  inputs: number;
  units: number;
  act: number;
  alpha: number;
  /** [inputs × units] row-major, as the network stores it. */
  weights: Float64Array;
  bias: Float64Array;
}

export class InputGradients {
  readonly inputs: number;
  readonly outputs: number;
  readonly #layers: Layer[];
  /** Activations of the last row, per layer (index 0 is the input). */
  readonly #a: Float64Array[];
  /** dF/dz per layer, reused across rows. */
  readonly #dz: Float64Array[];

  /** Throws EngineError for a network with a `step` layer: no gradient flows through it. */
  constructor(network: Network) {
    const weights = network.getWeights();
    this.#layers = network.layers.map((l, i) => {
      if (!ACTIVATION_INFO[l.activation].differentiable) {
        throw new EngineError(
          `layers[${i}].activation`,
          `is ${l.activation}, whose derivative is zero almost everywhere: input gradients (and attributions from them) are not defined`,
        );
      }
      return {
        inputs: l.inputs,
        units: l.units,
        act: l.act,
        alpha: l.alpha,
        weights: Float64Array.from(weights[2 * i]!),
        bias: Float64Array.from(weights[2 * i + 1]!),
      };
    });
    this.inputs = network.inputs;
    this.outputs = network.outputs;
    this.#a = [
      new Float64Array(this.inputs),
      ...this.#layers.map((l) => new Float64Array(l.units)),
    ];
    this.#dz = this.#layers.map((l) => new Float64Array(l.units));
  }

  /** The network's outputs for row `x` (length `inputs`), in float64. */
  forward(x: ArrayLike<number>): Float64Array {
    const a0 = this.#a[0]!;
    for (let i = 0; i < this.inputs; i++) a0[i] = x[i]!;
    for (let li = 0; li < this.#layers.length; li++) {
      const l = this.#layers[li]!;
      const input = this.#a[li]!;
      const out = this.#a[li + 1]!;
      // out[j] = f(Σ_k input[k]·W[k, j] + b[j]); W row-major [inputs × units].
      out.set(l.bias);
      for (let k = 0; k < l.inputs; k++) {
        const xk = input[k]!;
        if (xk === 0) continue;
        const row = k * l.units;
        for (let j = 0; j < l.units; j++) out[j]! += xk * l.weights[row + j]!;
      }
      if (l.act === ACT_SOFTMAX) softmax(out);
      else for (let j = 0; j < l.units; j++) out[j] = activate(out[j]!, l.act, l.alpha);
    }
    return this.#a[this.#layers.length]!;
  }

  /**
   * Writes dF/dx into `gradient` (length `inputs`) for F = output `unit` at row `x`, and
   * returns F(x).
   */
  gradient(x: ArrayLike<number>, unit: number, gradient: Float64Array): number {
    if (!Number.isInteger(unit) || unit < 0 || unit >= this.outputs) {
      throw new EngineError(
        "unit",
        `must be an output unit from 0 to ${this.outputs - 1}, got ${unit}`,
      );
    }
    const out = this.forward(x);
    const L = this.#layers.length;
    const head = this.#layers[L - 1]!;
    const dzHead = this.#dz[L - 1]!;
    if (head.act === ACT_SOFTMAX) {
      const au = out[unit]!;
      for (let j = 0; j < head.units; j++) dzHead[j] = au * ((j === unit ? 1 : 0) - out[j]!);
    } else {
      dzHead.fill(0);
      dzHead[unit] = derivative(out[unit]!, head.act, head.alpha);
    }
    for (let li = L - 1; li >= 0; li--) {
      const l = this.#layers[li]!;
      const dz = this.#dz[li]!;
      // dF/da_prev[k] = Σ_j W[k, j]·dz[j]; then through the previous layer's activation.
      const target = li === 0 ? gradient : this.#dz[li - 1]!;
      const prev = this.#a[li]!;
      const prevLayer = li === 0 ? undefined : this.#layers[li - 1]!;
      for (let k = 0; k < l.inputs; k++) {
        const row = k * l.units;
        let sum = 0;
        for (let j = 0; j < l.units; j++) sum += l.weights[row + j]! * dz[j]!;
        target[k] = prevLayer ? sum * derivative(prev[k]!, prevLayer.act, prevLayer.alpha) : sum;
      }
    }
    return out[unit]!;
  }
}

function softmax(v: Float64Array): void {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of v) if (x > max) max = x;
  let sum = 0;
  for (let j = 0; j < v.length; j++) {
    v[j] = Math.exp(v[j]! - max);
    sum += v[j]!;
  }
  for (let j = 0; j < v.length; j++) v[j]! /= sum;
}
