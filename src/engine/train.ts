/**
 * fit(): epochs of shuffled mini-batches, with validation, early stopping, progress callbacks,
 * cancellation and divergence detection. The per-batch work is in backprop-trainer.ts (or
 * perceptron-trainer.ts for a single layer of step units); this file is the schedule around it.
 */
import { ACTIVATION_INFO } from "./activations.ts";
import { BackpropTrainer, type EpochTally } from "./backprop-trainer.ts";
import {
  describe,
  isRecord,
  requireBoolean,
  requireInteger,
  requireNumber,
  requireOneOf,
  requireRecord,
} from "./checks.ts";
import { checkDataset, type Dataset } from "./dataset.ts";
import { EarlyStopping } from "./early-stopping.ts";
import { EngineError } from "./errors.ts";
import { LOSS_INFO } from "./losses.ts";
import { checkLossFitsOutput, Network } from "./network.ts";
import { learningRateAt, Optimizer, resolveOptimizer } from "./optimizers.ts";
import { PerceptronTrainer } from "./perceptron-trainer.ts";
import { Random } from "./random.ts";
import { type EarlyStoppingSpec, LOSSES, type LossName, type OptimizerSpec } from "./spec.ts";

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
}

export interface TrainResult {
  history: EpochMetrics[];
  epochsRun: number;
  stoppedEarly: boolean;
  bestEpoch?: number;
  cancelled: boolean;
}

/** How long fit may compute before letting the event loop run (abort messages, timers). */
const YIELD_EVERY_MS = 25;

const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    if (typeof setImmediate === "function") setImmediate(resolve);
    else setTimeout(resolve, 0);
  });

export async function fit(
  network: Network,
  data: Dataset,
  options: TrainOptions,
): Promise<TrainResult> {
  if (!(network instanceof Network)) {
    throw new EngineError(
      "network",
      `must be a Network (createNetwork/loadNetwork), got ${describe(network)}`,
    );
  }
  const o = requireRecord(options, "options") as unknown as TrainOptions;
  const loss = requireOneOf(o.loss, "loss", LOSSES);
  const lossInfo = LOSS_INFO[loss];
  const perceptron = checkTrainable(network, loss);
  if (!perceptron) checkLossFitsOutput(network, loss);
  const optimizerConfig = resolveOptimizer(o.optimizer);
  if (perceptron && optimizerConfig.name !== "sgd") {
    throw new EngineError(
      "optimizer.name",
      "the perceptron rule (step output) uses sgd's learning rate only; use sgd",
    );
  }
  const epochs = requireInteger(o.epochs, "epochs", 1, 1_000_000);
  const batchSize = requireInteger(o.batchSize, "batchSize", 1, 1_000_000);
  const shuffle = o.shuffle === undefined ? true : requireBoolean(o.shuffle, "shuffle");
  const seed = o.seed === undefined ? 0 : requireInteger(o.seed, "seed", -(2 ** 31), 2 ** 32 - 1);
  const every =
    o.batchProgressEvery === undefined
      ? 10
      : requireInteger(o.batchProgressEvery, "batchProgressEvery", 1);
  for (const key of ["onEpoch", "onBatch"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "function") {
      throw new EngineError(key, `must be a function, got ${describe(o[key])}`);
    }
  }
  const signal = o.signal;
  if (signal !== undefined && !(isRecord(signal) && typeof signal.aborted === "boolean")) {
    throw new EngineError("signal", `must be an AbortSignal, got ${describe(signal)}`);
  }

  let train = checkDataset(data, network, loss, "data");
  if (perceptron) checkBinaryTargets(train, "data");
  let validation: Dataset | undefined;
  if (o.validationData !== undefined && o.validationSplit !== undefined) {
    throw new EngineError(
      "validationSplit",
      "give either validationSplit or validationData, not both",
    );
  }
  if (o.validationData !== undefined) {
    validation = checkDataset(o.validationData, network, loss, "validationData");
    if (perceptron) checkBinaryTargets(validation, "validationData");
  } else if (o.validationSplit !== undefined && o.validationSplit !== 0) {
    const split = requireNumber(o.validationSplit, "validationSplit", {
      min: 0,
      max: 1,
      maxOpen: true,
    });
    const held = Math.floor(train.rows * split);
    if (held < 1 || held >= train.rows) {
      throw new EngineError(
        "validationSplit",
        `${split} of ${train.rows} rows leaves ${held} for validation and ${train.rows - held} for training; both need at least one`,
      );
    }
    [train, validation] = splitRows(train, train.rows - held, network);
  }
  const hasAccuracy = lossInfo.classification || perceptron;
  const stopper =
    o.earlyStopping === undefined
      ? undefined
      : new EarlyStopping(o.earlyStopping, {
          validation: validation !== undefined,
          accuracy: hasAccuracy,
        });

  const optimizer = new Optimizer(optimizerConfig);
  // Room for training batches and for validation chunks, so the arena never grows mid-fit.
  network.reserve(Math.max(batchSize, Math.min(validation?.rows ?? 0, 256)), optimizer.slots);
  optimizer.reset(network);
  const trainer = perceptron
    ? new PerceptronTrainer(network, train, loss === "mae")
    : new BackpropTrainer(network, train, loss, optimizer);

  const random = new Random(seed);
  const order = new Int32Array(train.rows);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const batches = Math.ceil(train.rows / batchSize);
  const history: EpochMetrics[] = [];
  const judged = perceptron
    ? network.outputs
    : lossInfo.needsLabels || loss === "categoricalCrossentropy"
      ? 1
      : network.outputs;
  let lastYield = performance.now();
  let stoppedEarly = false;
  let cancelled = false;

  for (let epoch = 1; epoch <= epochs && !cancelled && !stoppedEarly; epoch++) {
    const started = performance.now();
    const lr = learningRateAt(optimizerConfig, epoch);
    if (shuffle) random.shuffle(order);
    const tally: EpochTally = { lossSum: 0, correct: 0, absSum: 0 };
    for (let b = 0; b < batches; b++) {
      if (signal?.aborted) {
        cancelled = true;
        break;
      }
      const start = b * batchSize;
      const count = Math.min(batchSize, train.rows - start);
      trainer.trainBatch(order, start, count, lr, tally, epoch, b + 1);
      if (o.onBatch && ((b + 1) % every === 0 || b + 1 === batches)) {
        const progress = {
          epoch,
          epochs,
          batch: b + 1,
          batches,
          loss: tally.lossSum / (start + count),
        };
        const pending = o.onBatch(progress);
        if (pending) await pending;
      }
      const now = performance.now();
      if (now - lastYield > YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    if (cancelled) break;

    const metrics: EpochMetrics = {
      epoch,
      epochs,
      loss: tally.lossSum / train.rows,
      learningRate: lr,
      durationMs: 0,
    };
    if (hasAccuracy) metrics.accuracy = tally.correct / (train.rows * judged);
    else metrics.mae = tally.absSum / (train.rows * network.outputs);
    if (validation) {
      const v = network.evaluateChecked(validation, loss);
      metrics.valLoss = v.loss;
      if (hasAccuracy) metrics.valAccuracy = v.accuracy ?? accuracyOfStep(network, validation);
      else metrics.valMae = v.mae;
    }
    metrics.durationMs = performance.now() - started;
    history.push(metrics);
    if (o.onEpoch) await o.onEpoch(metrics);
    if (stopper?.update(metrics, network) && epoch < epochs) stoppedEarly = true;
  }

  if (!cancelled) stopper?.restore(network);
  const result: TrainResult = { history, epochsRun: history.length, stoppedEarly, cancelled };
  if (stopper?.bestEpoch !== undefined) result.bestEpoch = stopper.bestEpoch;
  return result;
}

/**
 * Backpropagation needs a gradient through every layer, so `step` is only trainable as a
 * single layer with the perceptron rule. Returns whether that is the case here.
 */
function checkTrainable(network: Network, loss: LossName): boolean {
  const stepAt = network.layers.findIndex((l) => !ACTIVATION_INFO[l.activation].differentiable);
  if (stepAt < 0) return false;
  if (network.layers.length > 1) {
    throw new EngineError(
      `layers[${stepAt}].activation`,
      "step has no gradient, so backpropagation cannot train through it; " +
        "step is trainable only in a single-layer network (perceptron rule)",
    );
  }
  if (loss !== "mse" && loss !== "mae") {
    throw new EngineError(
      "loss",
      `a step output (perceptron rule) reports mse or mae, not ${loss}`,
    );
  }
  return true;
}

function checkBinaryTargets(data: Dataset, field: string): void {
  const t = data.targets!;
  const N = t.length / data.rows;
  for (let i = 0; i < t.length; i++) {
    if (t[i] !== 0 && t[i] !== 1) {
      throw new EngineError(
        `${field}.targets[${Math.floor(i / N)}][${i % N}]`,
        `must be 0 or 1 for a step (perceptron) output, got ${t[i]}`,
      );
    }
  }
}

/** Rows [0, at) and [at, rows) as two datasets sharing the original buffers. */
function splitRows(data: Dataset, at: number, network: Network): [Dataset, Dataset] {
  const K = network.inputs;
  const N = network.outputs;
  const part = (from: number, to: number): Dataset => {
    const d: Dataset = { inputs: data.inputs.subarray(from * K, to * K), rows: to - from };
    if (data.targets) d.targets = data.targets.subarray(from * N, to * N);
    if (data.labels) d.labels = data.labels.subarray(from, to);
    return d;
  };
  return [part(0, at), part(at, data.rows)];
}

/** Element-wise accuracy of a step network's 0/1 outputs (evaluate reports mae for mse/mae). */
function accuracyOfStep(network: Network, data: Dataset): number {
  const out = network.predict(data.inputs, data.rows);
  const t = data.targets!;
  let correct = 0;
  for (let i = 0; i < out.length; i++) if (out[i] === t[i]) correct++;
  return correct / out.length;
}
