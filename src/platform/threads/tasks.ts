/**
 * What the main thread sends to a worker thread and what comes back. Everything here crosses a
 * thread boundary by structured clone, so it is plain data; big arrays travel as transferred
 * ArrayBuffers, never copied element by element.
 */
import type { MessagePort } from "node:worker_threads";
import type {
  ArchitectureJson,
  DropoutSpec,
  EarlyStoppingSpec,
  EpochMetrics,
  LossName,
  NetworkSpec,
  OptimizerSpec,
} from "../../engine/index.ts";

export interface TrainingSettings {
  loss: LossName;
  optimizer: OptimizerSpec;
  epochs: number;
  batchSize: number;
  shuffle: boolean;
  /** Seeds both the initial weights and the shuffling. */
  seed: number;
  validationSplit: number;
  earlyStopping?: EarlyStoppingSpec;
  /** Training-time dropout of the inputs and of each layer's outputs. */
  dropout?: DropoutSpec;
  labelSmoothing?: number;
  /** The weight of each class, in class-index order (resolved from the request's form). */
  classWeights?: number[];
  /** false: the optimizer state is not kept with the version (no exact warm start). */
  storeOptimizerState?: boolean;
}

export interface TrainingExamples {
  rows: number;
  /** rows × network.inputs, row-major. */
  inputs: Float32Array;
  /** rows × outputs, row-major; or `labels` for sparse class indices. */
  targets?: Float32Array;
  labels?: Int32Array;
}

export interface TrainTask {
  jobId: string;
  network: NetworkSpec;
  settings: TrainingSettings;
  data: TrainingExamples;
  /**
   * A continued run (warm start): the weights to start from (instead of fresh ones from the
   * seed), the epochs they already had, and the optimizer state stored with them, if any.
   */
  start?: { weights: Uint8Array; initialEpoch: number; optimizerState?: Uint8Array };
  /** 2: the thread trains each batch with a helper thread (native or WebAssembly kernels). */
  threads?: 1 | 2;
  /** Epoch messages go out on it; a "cancel" message comes in on it. */
  port: MessagePort;
}

/** Posted on the task's port after each epoch. */
export interface EpochMessage {
  type: "epoch";
  metrics: EpochMetrics;
}

/** Posted to the worker to stop between batches, keeping what was learned so far. */
export interface CancelMessage {
  type: "cancel";
}

/**
 * The engine refused the arguments (EngineError) or the numbers blew up
 * (TrainingDivergedError): deterministic, so the job fails without a retry. The thread returns
 * it as data because an error crossing threads is structured-cloned into a plain Error with
 * only its message; pool.train rejects with the engine's error class again.
 */
export interface TrainFailure {
  failure: "engine" | "diverged";
  message: string;
  /** EngineError's field path. */
  field?: string;
  /** Where TrainingDivergedError happened. */
  epoch?: number;
  batch?: number;
}

export interface TrainOutcome {
  /** Little-endian Float32 parameters (the engine's saveNetwork order). */
  weights: Uint8Array;
  architecture: ArchitectureJson;
  history: EpochMetrics[];
  epochsRun: number;
  stoppedEarly: boolean;
  bestEpoch?: number;
  /** The epoch whose weights these are: the best one when early stopping restored it. */
  weightsEpoch: number;
  cancelled: boolean;
  /** The optimizer's state after the last epoch (saveOptimizerState), to continue from. */
  optimizerState?: Uint8Array;
}

export interface PredictTask {
  /** Cache key of the network inside the worker: a version id never changes its weights. */
  key: string;
  architecture: ArchitectureJson;
  weights: Uint8Array;
  inputs: Float32Array;
  rows: number;
}

/** What a pool tells each of its threads when it starts them (piscina's workerData). */
export interface ThreadSettings {
  /** Nice value the thread gives itself; 0 or absent leaves it as it is. */
  nice?: number;
}
