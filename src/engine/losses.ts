/**
 * Losses by name: the value over a batch and its gradient with respect to the output layer's
 * pre-activation Z, written straight into the layer's delta buffer. Reductions follow PyTorch's
 * `mean`: mse, mae and binaryCrossentropy average over every output value, the cross-entropies
 * over rows.
 *
 * Stable forms: the cross-entropies work from the logits Z with log-sum-exp, so log(0) never
 * happens; they are defined on their own output only (softmax, resp. sigmoid for
 * binaryCrossentropy: lossOutputProblem), so the gradient is fused to (A − T)/rows, which skips
 * the softmax Jacobian. mse and mae take any output: dL/dA, then the chain rule.
 */
import { ACT_SOFTMAX } from "./activations.ts";
import { activationBackward, softmaxBackward } from "./kernels.ts";
import type { ActivationName, LossName } from "./spec.ts";

export const LOSS_MSE = 0;
export const LOSS_MAE = 1;
export const LOSS_BCE = 2;
export const LOSS_CCE = 3;
export const LOSS_SCCE = 4;

export interface LossInfo {
  readonly code: number;
  /** Classification losses report accuracy; regression losses report mae. */
  readonly classification: boolean;
  /** sparseCategoricalCrossentropy takes class indices (`labels`), the others `targets`. */
  readonly needsLabels: boolean;
  /** Output activations the loss is defined for; undefined means any differentiable one. */
  readonly outputActivations?: readonly ActivationName[];
}

export const LOSS_INFO: Readonly<Record<LossName, LossInfo>> = {
  mse: { code: LOSS_MSE, classification: false, needsLabels: false },
  mae: { code: LOSS_MAE, classification: false, needsLabels: false },
  binaryCrossentropy: {
    code: LOSS_BCE,
    classification: true,
    needsLabels: false,
    outputActivations: ["sigmoid"],
  },
  categoricalCrossentropy: {
    code: LOSS_CCE,
    classification: true,
    needsLabels: false,
    outputActivations: ["softmax"],
  },
  sparseCategoricalCrossentropy: {
    code: LOSS_SCCE,
    classification: true,
    needsLabels: true,
    outputActivations: ["softmax"],
  },
};

/**
 * Why `loss` cannot train an output layer of `activation`, or null when it can. The one home of
 * the rule: the engine's fit and evaluate throw it, the train request schema reports it.
 * binaryCrossentropy needs a sigmoid (its probabilities; from logits it stays finite), the other
 * cross-entropies a softmax; mse and mae take any output.
 */
export function lossOutputProblem(loss: LossName, activation: ActivationName): string | null {
  const allowed = LOSS_INFO[loss].outputActivations;
  if (!allowed || allowed.includes(activation)) return null;
  return `${loss} needs a ${allowed.join(" or ")} output layer`;
}

/**
 * What predict reports as classes: the argmax of a softmax output, or output >= 0.5 of one
 * sigmoid unit trained with binaryCrossentropy; null for a regression.
 */
export function classifierKind(
  network: { layers: readonly { units: number; activation: ActivationName }[] },
  loss: LossName,
): "binary" | "multiclass" | null {
  const output = network.layers.at(-1);
  if (!output) return null;
  if (loss === "binaryCrossentropy" && output.activation === "sigmoid" && output.units === 1) {
    return "binary";
  }
  if (output.activation === "softmax" && loss !== "mse" && loss !== "mae") return "multiclass";
  return null;
}

/** Where the output layer's values are, for one batch of `rows` rows of N outputs. */
export interface LossBuffers {
  /** Logits Z [rows×N]. */
  z: number;
  /** Activations A = f(Z) [rows×N]. */
  a: number;
  /** Targets T [rows×N] (ignored for sparse). */
  t: number;
  /** Class indices for sparse categorical cross-entropy, rows [0, rows). */
  labels: Int32Array;
  /** dL/dZ [rows×N] is written here when a gradient is asked for. */
  d: number;
  /** Per-row class weights of the batch (filled by rowClassWeights), rows [0, rows). */
  weights: Float32Array;
}

/**
 * What training may add to a cross-entropy: label smoothing (ε: targets become
 * (1 − ε)·t + ε/K, K = classes; Keras' and PyTorch's rule, K = 2 for binary cross-entropy) and
 * class weights (each row's loss and gradient times the weight of its class; the mean still
 * divides by the rows, as Keras' class_weight). Validation and evaluate use the plain loss.
 */
export interface LossSettings {
  smoothing: number;
  /** Weight per class index; null: every class 1. */
  classWeights: Float64Array | null;
}

export const PLAIN_LOSS: LossSettings = Object.freeze({ smoothing: 0, classWeights: null });

/**
 * Fills buf.weights[0, rows) with each row's class weight: the weight of its label (sparse), of
 * a 0/1 target (one sigmoid unit: t·w1 + (1 − t)·w0), or Σ t_j·w_j over a one-hot row.
 * Must run before the targets are smoothed.
 */
export function rowClassWeights(
  m: Float32Array,
  loss: number,
  buf: LossBuffers,
  rows: number,
  N: number,
  classWeights: Float64Array,
): void {
  const w = buf.weights;
  if (loss === LOSS_SCCE) {
    for (let r = 0; r < rows; r++) w[r] = classWeights[buf.labels[r]];
    return;
  }
  if (N === 1) {
    for (let r = 0; r < rows; r++) {
      const t = m[buf.t + r];
      w[r] = t * classWeights[1] + (1 - t) * classWeights[0];
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < N; j++) s += m[buf.t + r * N + j] * classWeights[j];
    w[r] = s;
  }
}

/**
 * Returns the SUM over rows of the per-row loss (divide by rows for the batch mean) and, when
 * `gradient` is true, writes dL/dZ of the batch-mean loss to buf.d. `meanRows` is the batch's
 * rows when these `rows` are a part of it (a thread's share): the gradient is of the whole
 * batch's mean, so each value is what the whole batch's call would write.
 */
export function lossAndGradient(
  m: Float32Array,
  loss: number,
  act: number,
  alpha: number,
  buf: LossBuffers,
  rows: number,
  N: number,
  gradient: boolean,
  settings: LossSettings = PLAIN_LOSS,
  meanRows = rows,
): number {
  const { z, a, t, d, labels } = buf;
  const n = rows * N;
  // The mean's divisor: every output value (mse, mae, binaryCrossentropy) or row of the batch.
  const meanValues = meanRows * N;
  let sum = 0;
  const smoothing = settings.smoothing;
  const weighted = settings.classWeights !== null;
  if (weighted) rowClassWeights(m, loss, buf, rows, N, settings.classWeights!);
  // Smoothed targets t·(1 − ε) + ε/K are computed as they are read (the batch keeps its own).
  const keep = 1 - smoothing;
  const w = buf.weights;
  switch (loss) {
    case LOSS_MSE: {
      const g = 2 / meanValues;
      for (let i = 0; i < n; i++) {
        const e = m[a + i] - m[t + i];
        sum += e * e;
        if (gradient) m[d + i] = g * e;
      }
      sum /= N;
      break;
    }
    case LOSS_MAE: {
      const g = 1 / meanValues;
      for (let i = 0; i < n; i++) {
        const e = m[a + i] - m[t + i];
        sum += Math.abs(e);
        if (gradient) m[d + i] = e > 0 ? g : e < 0 ? -g : 0;
      }
      sum /= N;
      break;
    }
    case LOSS_BCE: {
      // The output is a sigmoid (lossOutputProblem), so from logits:
      // max(z,0) − z·t + log(1 + e^−|z|); dL/dz = σ(z) − t.
      const g = 1 / meanValues;
      for (let i = 0; i < n; i++) {
        const zi = m[z + i];
        const ti = m[t + i] * keep + smoothing / 2;
        const wi = weighted ? w[(i / N) | 0] : 1;
        sum += wi * (Math.max(zi, 0) - zi * ti + Math.log1p(Math.exp(-Math.abs(zi))));
        if (gradient) m[d + i] = wi * g * (m[a + i] - ti);
      }
      sum /= N;
      return sum;
    }
    case LOSS_CCE:
    case LOSS_SCCE: {
      // Per row: L = Σ_j t_j·(lse(z) − z_j); dL/dz_j = a_j·Σt − t_j (a = softmax(z)).
      // Sparse labels smoothed: t_j = ε/N + (1 − ε)·[j = y], so Σt = 1.
      const off = smoothing / N;
      const on = keep;
      for (let r = 0; r < rows; r++) {
        const zr = z + r * N;
        let max = -Infinity;
        for (let j = 0; j < N; j++) if (m[zr + j] > max) max = m[zr + j];
        let s = 0;
        for (let j = 0; j < N; j++) s += Math.exp(m[zr + j] - max);
        const lse = max + Math.log(s);
        const ar = a + r * N;
        const dr = d + r * N;
        const wr = weighted ? w[r] : 1;
        const g = wr / meanRows;
        if (loss === LOSS_SCCE) {
          const y = labels[r];
          if (smoothing > 0) {
            let zSum = 0;
            for (let j = 0; j < N; j++) zSum += m[zr + j];
            sum += wr * (on * (lse - m[zr + y]) + off * (N * lse - zSum));
            if (gradient) {
              for (let j = 0; j < N; j++) m[dr + j] = g * (m[ar + j] - off);
              m[dr + y] -= g * on;
            }
          } else {
            sum += wr * (lse - m[zr + y]);
            if (gradient) {
              for (let j = 0; j < N; j++) m[dr + j] = g * m[ar + j];
              m[dr + y] -= g;
            }
          }
        } else {
          const tr = t + r * N;
          let tSum = 0;
          let rowLoss = 0;
          for (let j = 0; j < N; j++) {
            const tj = m[tr + j] * keep + off;
            if (tj !== 0) rowLoss += tj * (lse - m[zr + j]);
            tSum += tj;
          }
          sum += wr * rowLoss;
          if (gradient) {
            for (let j = 0; j < N; j++) {
              m[dr + j] = g * (m[ar + j] * tSum - (m[tr + j] * keep + off));
            }
          }
        }
      }
      // The fused gradient above is already dL/dZ for a softmax output (the only one allowed).
      return sum;
    }
  }
  if (gradient) chainThroughActivation(m, act, alpha, a, d, rows, N);
  return sum;
}

function chainThroughActivation(
  m: Float32Array,
  act: number,
  alpha: number,
  a: number,
  d: number,
  rows: number,
  N: number,
): void {
  if (act === ACT_SOFTMAX) softmaxBackward(m, a, d, rows, N);
  else activationBackward(m, a, d, rows * N, act, alpha);
}
