/**
 * The checks and defaults of fit()'s arguments, in one place: everything fit needs, resolved,
 * or an EngineError naming the first bad field.
 */
import { ACTIVATION_INFO } from "./activations.ts";
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
import { LOSS_INFO, type LossSettings } from "./losses.ts";
import { checkLossFitsOutput, type DropoutRates, Network } from "./network.ts";
import { type ResolvedOptimizer, resolveOptimizer } from "./optimizers.ts";
import { checkScheduleFits } from "./schedules.ts";
import { LOSSES, type LossName } from "./spec.ts";
import type { TrainOptions } from "./train-types.ts";

export interface ResolvedTraining {
  loss: LossName;
  /** A single layer of step units, trained by the perceptron rule. */
  perceptron: boolean;
  /** Whether epochs report accuracy (classification losses, step outputs) rather than mae. */
  hasAccuracy: boolean;
  optimizer: ResolvedOptimizer;
  epochs: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  batchProgressEvery: number;
  /** 1, or 2: each batch split between two threads (parallel-trainer.ts), the same bits. */
  threads: number;
  signal?: AbortSignal;
  train: Dataset;
  validation?: Dataset;
  stopper?: EarlyStopping;
  /** Label smoothing and class weights of the training loss. */
  lossSettings: LossSettings;
  /** null: no dropout. */
  dropout: DropoutRates | null;
  /** Epochs already trained (a continued run starts at initialEpoch + 1). */
  initialEpoch: number;
  optimizerState?: Uint8Array;
}

/** The largest batch the engine takes; the API refuses more at submit (one rule). */
export const MAX_BATCH_SIZE = 1_000_000;

export function resolveTraining(
  network: Network,
  data: Dataset,
  options: TrainOptions,
): ResolvedTraining {
  if (!(network instanceof Network)) {
    throw new EngineError(
      "network",
      `must be a Network (createNetwork/loadNetwork), got ${describe(network)}`,
    );
  }
  const o = requireRecord(options, "options") as unknown as TrainOptions;
  const loss = requireOneOf(o.loss, "loss", LOSSES);
  const perceptron = checkTrainable(network, loss);
  if (!perceptron) checkLossFitsOutput(network, loss);
  const optimizer = resolveOptimizer(o.optimizer);
  if (perceptron && optimizer.name !== "sgd") {
    throw new EngineError(
      "optimizer.name",
      "the perceptron rule (step output) uses sgd's learning rate only; use sgd",
    );
  }
  const epochs = requireInteger(o.epochs, "epochs", 1, 1_000_000);
  const batchSize = requireInteger(o.batchSize, "batchSize", 1, MAX_BATCH_SIZE);
  const shuffle = o.shuffle === undefined ? true : requireBoolean(o.shuffle, "shuffle");
  const seed = o.seed === undefined ? 0 : requireInteger(o.seed, "seed", -(2 ** 31), 2 ** 32 - 1);
  const threads = o.threads === undefined ? 1 : requireInteger(o.threads, "threads", 1, 2);
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
  const hasAccuracy = LOSS_INFO[loss].classification || perceptron;
  const stopper =
    o.earlyStopping === undefined
      ? undefined
      : new EarlyStopping(o.earlyStopping, {
          validation: validation !== undefined,
          accuracy: hasAccuracy,
        });

  const initialEpoch =
    o.initialEpoch === undefined
      ? 0
      : requireInteger(o.initialEpoch, "initialEpoch", 0, epochs - 1);
  if (optimizer.decay) {
    checkScheduleFits(
      optimizer.decay,
      epochs,
      Math.ceil(train.rows / batchSize),
      "optimizer.decay",
    );
  }
  const dropout = resolveDropout(o.dropout, network, threads, perceptron);
  const resolved: ResolvedTraining = {
    loss,
    perceptron,
    hasAccuracy,
    optimizer,
    epochs,
    batchSize,
    shuffle,
    seed,
    batchProgressEvery: every,
    threads,
    train,
    lossSettings: resolveLossSettings(o, loss, network.outputs),
    dropout,
    initialEpoch,
  };
  if (o.optimizerState !== undefined) resolved.optimizerState = o.optimizerState;
  if (signal) resolved.signal = signal;
  if (validation) resolved.validation = validation;
  if (stopper) resolved.stopper = stopper;
  return resolved;
}

function resolveDropout(
  value: unknown,
  network: Network,
  threads: number,
  perceptron: boolean,
): DropoutRates | null {
  if (value === undefined) return null;
  const d = requireRecord(value, "dropout");
  const rate = (v: unknown, field: string) =>
    v === undefined ? 0 : requireNumber(v, field, { min: 0, max: 1, maxOpen: true });
  const inputs = rate(d.inputs, "dropout.inputs");
  const rawLayers = d.layers === undefined ? [] : d.layers;
  if (!Array.isArray(rawLayers) || rawLayers.length > network.layers.length) {
    throw new EngineError(
      "dropout.layers",
      `must be an array of at most ${network.layers.length} rates (one per layer)`,
    );
  }
  const layers = rawLayers.map((v: unknown, i: number) => rate(v, `dropout.layers[${i}]`));
  const last = network.layers.length - 1;
  if ((layers[last] ?? 0) > 0) {
    throw new EngineError(`dropout.layers[${last}]`, "the output layer cannot drop units");
  }
  if (inputs === 0 && layers.every((r) => r === 0)) return null;
  if (perceptron) throw new EngineError("dropout", "the perceptron rule trains without dropout");
  if (threads === 2) {
    throw new EngineError(
      "threads",
      "dropout trains on one thread (its masks are drawn in batch order); use threads: 1",
    );
  }
  return { inputs, layers };
}

function resolveLossSettings(o: TrainOptions, loss: LossName, outputs: number): LossSettings {
  const info = LOSS_INFO[loss];
  let smoothing = 0;
  if (o.labelSmoothing !== undefined && o.labelSmoothing !== 0) {
    if (!info.classification) {
      throw new EngineError("labelSmoothing", `applies to the cross-entropies, not ${loss}`);
    }
    smoothing = requireNumber(o.labelSmoothing, "labelSmoothing", {
      min: 0,
      max: 1,
      maxOpen: true,
    });
  }
  if (o.classWeights === undefined) return { smoothing, classWeights: null };
  if (!info.classification) {
    throw new EngineError("classWeights", `applies to the cross-entropies, not ${loss}`);
  }
  const classes = outputs === 1 ? 2 : outputs;
  const w = o.classWeights;
  if (!(Array.isArray(w) || w instanceof Float64Array || w instanceof Float32Array)) {
    throw new EngineError(
      "classWeights",
      `must be an array of ${classes} weights, got ${describe(w)}`,
    );
  }
  if (w.length !== classes) {
    throw new EngineError(
      "classWeights",
      `has ${w.length} weights; the output has ${classes} classes`,
    );
  }
  const weights = new Float64Array(classes);
  for (let j = 0; j < classes; j++) {
    weights[j] = requireNumber(w[j], `classWeights[${j}]`, { min: 0 });
  }
  return { smoothing, classWeights: weights };
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
