/**
 * The engine's vocabulary: the names a network, a loss or an optimizer can be given, and the
 * plain-data shapes that describe them. The zod schemas of the service build their enums from
 * these lists, so a name added here is accepted everywhere at once.
 */

export const ACTIVATIONS = [
  "step",
  "sigmoid",
  "tanh",
  "relu",
  "leakyRelu",
  "elu",
  "softmax",
  "linear",
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const INITIALIZERS = [
  "glorotUniform",
  "glorotNormal",
  "heUniform",
  "heNormal",
  "torchLinear",
  "zeros",
] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

export const LOSSES = [
  "mse",
  "mae",
  "binaryCrossentropy",
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
] as const;
export type LossName = (typeof LOSSES)[number];

export const OPTIMIZERS = ["sgd", "momentum", "rmsprop", "adam"] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface LayerSpec {
  units: number;
  activation: ActivationName;
  /** Slope for leakyRelu (default 0.01) or scale for elu (default 1). */
  alpha?: number;
  /** Weight initializer; default heUniform for relu-family layers, glorotUniform otherwise. */
  initializer?: InitializerName;
}

export interface NetworkSpec {
  inputs: number;
  layers: LayerSpec[];
}

export interface OptimizerSpec {
  name: OptimizerName;
  /** PyTorch 2 defaults: 0.001 for sgd, momentum and adam; 0.01 for rmsprop. */
  learningRate?: number;
  /** Velocity decay: default 0.9 for `momentum`, 0 (plain SGD) for `sgd`. */
  momentum?: number;
  nesterov?: boolean;
  /** rmsprop: decay of the squared-gradient average (default 0.99, PyTorch's `alpha`). */
  rho?: number;
  /** adam (defaults 0.9, 0.999). */
  beta1?: number;
  beta2?: number;
  /** Added to the denominator of rmsprop and adam (default 1e-8, as PyTorch). */
  epsilon?: number;
  /** L2 penalty added to the gradient of every weight (not biases). */
  weightDecay?: number;
  /** Clip the gradient to this global L2 norm before the update. */
  clipNorm?: number;
  decay?:
    | { type: "step"; rate: number; everyEpochs: number }
    | { type: "exponential"; rate: number };
}

export interface EarlyStoppingSpec {
  monitor?: "loss" | "valLoss" | "accuracy" | "valAccuracy";
  patience: number;
  minDelta?: number;
  /** When training ends (stopped early or not), put back the weights of the best epoch. */
  restoreBestWeights?: boolean;
}
