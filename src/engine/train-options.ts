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
import { LOSS_INFO } from "./losses.ts";
import { checkLossFitsOutput, Network } from "./network.ts";
import { type ResolvedOptimizer, resolveOptimizer } from "./optimizers.ts";
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
  /** 1, or 2 for data-parallel halves of each batch (parallel-trainer.ts). */
  threads: number;
  signal?: AbortSignal;
  train: Dataset;
  validation?: Dataset;
  stopper?: EarlyStopping;
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
  };
  if (signal) resolved.signal = signal;
  if (validation) resolved.validation = validation;
  if (stopper) resolved.stopper = stopper;
  return resolved;
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
