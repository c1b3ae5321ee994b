/**
 * The activation registry: for each name, the integer code the kernels switch on, its default
 * alpha, the initializer that suits it, and whether backpropagation can pass through it.
 * The per-element formulas themselves live in kernels.ts, next to the loops that apply them.
 */
import type { ActivationName, InitializerName } from "./spec.ts";

/** Kernel codes. Plain numbers (not an enum) so the hot loops switch on small integers. */
export const ACT_LINEAR = 0;
export const ACT_SIGMOID = 1;
export const ACT_TANH = 2;
export const ACT_RELU = 3;
export const ACT_LEAKY_RELU = 4;
export const ACT_ELU = 5;
export const ACT_SOFTMAX = 6;
export const ACT_STEP = 7;

export interface ActivationInfo {
  readonly code: number;
  /** Default for `alpha`, or undefined when the activation takes none. */
  readonly defaultAlpha?: number;
  readonly defaultInitializer: InitializerName;
  /** False for `step`: its derivative is zero almost everywhere, so no gradient flows. */
  readonly differentiable: boolean;
  /** Softmax couples the units of a row, so it is only allowed on the output layer. */
  readonly outputOnly: boolean;
}

export const ACTIVATION_INFO: Readonly<Record<ActivationName, ActivationInfo>> = {
  step: {
    code: ACT_STEP,
    defaultInitializer: "zeros",
    differentiable: false,
    outputOnly: false,
  },
  sigmoid: {
    code: ACT_SIGMOID,
    defaultInitializer: "glorotUniform",
    differentiable: true,
    outputOnly: false,
  },
  tanh: {
    code: ACT_TANH,
    defaultInitializer: "glorotUniform",
    differentiable: true,
    outputOnly: false,
  },
  relu: {
    code: ACT_RELU,
    defaultInitializer: "heUniform",
    differentiable: true,
    outputOnly: false,
  },
  leakyRelu: {
    code: ACT_LEAKY_RELU,
    defaultAlpha: 0.01,
    defaultInitializer: "heUniform",
    differentiable: true,
    outputOnly: false,
  },
  elu: {
    code: ACT_ELU,
    defaultAlpha: 1,
    defaultInitializer: "heUniform",
    differentiable: true,
    outputOnly: false,
  },
  softmax: {
    code: ACT_SOFTMAX,
    defaultInitializer: "glorotUniform",
    differentiable: true,
    outputOnly: true,
  },
  linear: {
    code: ACT_LINEAR,
    defaultInitializer: "glorotUniform",
    differentiable: true,
    outputOnly: false,
  },
};
