/**
 * What fit takes and gives: options, per-epoch metrics, batch progress, the result. Apart from
 * train.ts so the argument checks (train-options.ts) and early stopping read them without
 * importing the training loop that imports them (no import cycle).
 */
import type { Dataset } from "./dataset.ts";
import type { DropoutSpec, EarlyStoppingSpec, LossName, OptimizerSpec } from "./spec.ts";

export interface EpochMetrics {
  /** 1-based. */
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch's batches (as they were trained, Keras-style). */
  loss: number;
  valLoss?: number;
  accuracy?: number;
  valAccuracy?: number;
  mae?: number;
  valMae?: number;
  learningRate: number;
  durationMs: number;
}

export interface BatchProgress {
  epoch: number;
  epochs: number;
  /** 1-based batch within the epoch. */
  batch: number;
  batches: number;
  /** Mean loss of the epoch's batches so far. */
  loss: number;
}

export interface TrainOptions {
  loss: LossName;
  optimizer: OptimizerSpec;
  epochs: number;
  batchSize: number;
  /** Reshuffle the training rows every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffling (default 0). */
  seed?: number;
  /** Fraction of rows, taken from the END of the data before shuffling, held out (Keras). */
  validationSplit?: number;
  validationData?: Dataset;
  earlyStopping?: EarlyStoppingSpec;
  /** Awaited after every epoch. */
  onEpoch?(metrics: EpochMetrics): void | Promise<void>;
  /** Called every `batchProgressEvery` batches (default 10); awaited if it returns a promise. */
  onBatch?(progress: BatchProgress): void | Promise<void>;
  batchProgressEvery?: number;
  /** Checked between batches; an abort ends training with `cancelled: true`. */
  signal?: AbortSignal;
  /**
   * 2: each batch is split between this thread and a helper thread over shared memory, the
   * gradients summed before the update (WebAssembly kernels only; otherwise one thread runs).
   * Same model as one thread within float tolerance. Default 1.
   */
  threads?: 1 | 2;
  /** Inverted dropout during training (one thread only); predict and validation never drop. */
  dropout?: DropoutSpec;
  /** Cross-entropies: targets become (1 − ε)·t + ε/classes (binary: classes = 2). */
  labelSmoothing?: number;
  /** Cross-entropies: one weight per class (a single sigmoid unit: [w0, w1]). */
  classWeights?: ArrayLike<number>;
  /**
   * Continue a run: epochs already trained (fit runs epochs initialEpoch + 1 … epochs), with
   * `optimizerState` (from a TrainResult) restored. The shuffling replays the skipped epochs'
   * shuffles first and dropout masks are drawn per epoch from (seed, epoch), so with the same
   * data, seed and settings a continued run ends where the uninterrupted one would, bit for bit.
   */
  initialEpoch?: number;
  optimizerState?: Uint8Array;
}

export interface TrainResult {
  history: EpochMetrics[];
  epochsRun: number;
  stoppedEarly: boolean;
  bestEpoch?: number;
  cancelled: boolean;
  /**
   * True when early stopping put back the weights of `bestEpoch` (restoreBestWeights, training
   * not cancelled); otherwise the network holds the weights training reached, which after a
   * cancellation may be part-way through an epoch.
   */
  restoredBestWeights: boolean;
  /** The optimizer's state after the last update (saveOptimizerState), for a continued run. */
  optimizerState?: Uint8Array;
}
