/**
 * The engine's public surface: build, train, run, save and load feedforward networks.
 * TypeScript over native (C++) or WebAssembly kernels; no I/O beyond loading them, no dependencies.
 */

export type { Dataset, Matrix } from "./dataset.ts";
export { datasetFromArrays, toFloat32Matrix, toInt32Labels } from "./dataset.ts";
export { DenseLayer, type DenseLayerArgs } from "./dense-layer.ts";
export { EngineError, TrainingDivergedError } from "./errors.ts";
export { InputGradients } from "./input-gradients.ts";
export {
  KERNEL_BACKENDS,
  KERNEL_REQUESTS,
  type KernelBackend,
  type KernelRequest,
  type KernelSet,
} from "./kernel-set.ts";
export { classifierKind, lossOutputProblem } from "./losses.ts";
export { nativeStatus } from "./native-kernels.ts";
export {
  type CreateNetworkOptions,
  createNetwork,
  type EvaluateResult,
  Network,
} from "./network.ts";
export {
  countParameters,
  MAX_PARAMETERS,
  MAX_UNITS,
  type NetworkShape,
  normalizeNetworkSpec,
} from "./network-spec.ts";
export {
  DEFAULT_LEARNING_RATES,
  DEFAULT_OPTIMIZER,
  type ResolvedOptimizer,
  resolveOptimizer,
} from "./optimizers.ts";
export { Random } from "./random.ts";
export {
  checkScheduleFits,
  type ResolvedSchedule,
  resolveSchedule,
  SCHEDULES,
  scheduledRate,
} from "./schedules.ts";
export {
  type ArchitectureJson,
  checkArchitecture,
  checkWeightBytes,
  loadNetwork,
  NETWORK_FORMAT,
  NETWORK_FORMAT_VERSION,
  type SavedNetwork,
  saveNetwork,
} from "./serialize.ts";
export * from "./spec.ts";
export {
  type BatchProgress,
  type EpochMetrics,
  fit,
  type TrainOptions,
  type TrainResult,
} from "./train.ts";
export { MAX_BATCH_SIZE } from "./train-options.ts";
export { availableKernelBackends, defaultKernelBackend } from "./wasm-kernels.ts";
