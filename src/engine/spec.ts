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

/** adamw: Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's AdamW). */
export const OPTIMIZERS = ["sgd", "momentum", "rmsprop", "adam", "adamw"] as const;
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
  /**
   * Weights only, never biases. For sgd, momentum, rmsprop and adam an L2 penalty: wd·w is added
   * to the gradient (PyTorch's `weight_decay`). For adamw decoupled decay: every step first
   * shrinks the weights by lr·wd (w ← w·(1 − lr·wd)), outside Adam's moments (default 0.01).
   */
  weightDecay?: number;
  /** Clip the gradient to this global L2 norm before the update. */
  clipNorm?: number;
  /** The learning-rate schedule (schedules.ts has the formulas). */
  decay?: ScheduleSpec;
}

/**
 * Learning-rate schedules. `warmup` ramps linearly up to the learning rate first (in epochs for
 * step and exponential; in `unit` for cosine and oneCycle, default epochs); it must end before
 * the run does.
 */
export type ScheduleSpec =
  | { type: "step"; rate: number; everyEpochs: number; warmup?: number }
  | { type: "exponential"; rate: number; warmup?: number }
  | {
      type: "cosine";
      unit?: "epochs" | "steps";
      warmup?: number;
      /** Where the cosine ends (default 0). */
      minLearningRate?: number;
    }
  | {
      type: "oneCycle";
      unit?: "epochs" | "steps";
      /** The rising phase (default 30% of the run, PyTorch's pct_start). */
      warmup?: number;
      /** Start at learningRate / divFactor (default 25). */
      divFactor?: number;
      /** End at the start's rate / finalDivFactor (default 10⁴). */
      finalDivFactor?: number;
    };

/** Training-time dropout: of the input features and of each layer's outputs (inverted). */
export interface DropoutSpec {
  inputs?: number;
  /** One rate per layer (missing: 0); the output layer's must be 0. */
  layers?: number[];
}

export interface EarlyStoppingSpec {
  monitor?: "loss" | "valLoss" | "accuracy" | "valAccuracy";
  patience: number;
  minDelta?: number;
  /** When training ends (stopped early or not), put back the weights of the best epoch. */
  restoreBestWeights?: boolean;
}
