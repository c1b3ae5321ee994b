/**
 * The worker-thread entry: trains a network for one job, or runs a large prediction, off the
 * main event loop. It does no I/O: the main thread owns the database and writes what arrives
 * on the task's port.
 */
import { getPriority, setPriority } from "node:os";
import { workerData } from "piscina";
import {
  createNetwork,
  EngineError,
  type EpochMetrics,
  fit,
  loadNetwork,
  NETWORK_FORMAT,
  NETWORK_FORMAT_VERSION,
  type Network,
  saveNetwork,
  TrainingDivergedError,
} from "../../engine/index.ts";
import type {
  CancelMessage,
  PredictTask,
  ThreadSettings,
  TrainFailure,
  TrainOutcome,
  TrainTask,
} from "./tasks.ts";

// Linux keeps a nice value per thread, and os.setPriority() without a pid sets the calling
// thread's: a training thread that yields to the event loop when they share a core keeps a
// running job from holding up predictions. Threads it starts (two-thread training's helper)
// inherit it. Where the OS refuses, the thread trains at the process's priority.
const settings = (workerData ?? {}) as ThreadSettings;
if (settings.nice) {
  try {
    setPriority(settings.nice);
  } catch {}
}

/** The nice value this thread runs at, as the OS reports it (for tests and diagnostics). */
export function nice(): number {
  return getPriority();
}

export async function train(task: TrainTask): Promise<TrainOutcome | TrainFailure> {
  const { network: spec, settings, data, port } = task;
  const controller = new AbortController();
  // fit() yields to the event loop between batches now and then, which is when this arrives.
  port.on("message", (message: CancelMessage) => {
    if (message.type === "cancel") controller.abort();
  });
  try {
    // The job reports its own epochs (1 … settings.epochs), a continued run's included.
    const offset = task.start?.initialEpoch ?? 0;
    const ownEpoch = (m: EpochMetrics): EpochMetrics => ({
      ...m,
      epoch: m.epoch - offset,
      epochs: m.epochs - offset,
    });
    const network = task.start
      ? loadNetwork(
          { format: NETWORK_FORMAT, version: NETWORK_FORMAT_VERSION, ...spec },
          task.start.weights,
        )
      : createNetwork(spec, { seed: settings.seed });
    const result = await fit(network, data, {
      loss: settings.loss,
      optimizer: settings.optimizer,
      // A continued run counts its epochs on from the ones the weights already had.
      epochs: offset + settings.epochs,
      batchSize: settings.batchSize,
      shuffle: settings.shuffle,
      seed: settings.seed,
      validationSplit: settings.validationSplit,
      earlyStopping: settings.earlyStopping,
      threads: task.threads ?? 1,
      ...(settings.dropout ? { dropout: settings.dropout } : {}),
      ...(settings.labelSmoothing ? { labelSmoothing: settings.labelSmoothing } : {}),
      ...(settings.classWeights ? { classWeights: settings.classWeights } : {}),
      ...(task.start
        ? {
            initialEpoch: task.start.initialEpoch,
            ...(task.start.optimizerState ? { optimizerState: task.start.optimizerState } : {}),
          }
        : {}),
      signal: controller.signal,
      onEpoch(metrics) {
        port.postMessage({ type: "epoch", metrics: ownEpoch(metrics) });
      },
    });
    const saved = saveNetwork(network);
    return {
      weights: saved.weights,
      architecture: saved.architecture,
      history: result.history.map(ownEpoch),
      epochsRun: result.epochsRun,
      stoppedEarly: result.stoppedEarly,
      bestEpoch: result.bestEpoch === undefined ? undefined : result.bestEpoch - offset,
      weightsEpoch:
        result.restoredBestWeights && result.bestEpoch !== undefined
          ? result.bestEpoch - offset
          : result.epochsRun,
      cancelled: result.cancelled,
      // Only state that goes with these weights: not after best weights were put back.
      ...(result.optimizerState &&
      !result.restoredBestWeights &&
      settings.storeOptimizerState !== false
        ? { optimizerState: result.optimizerState }
        : {}),
    };
  } catch (error) {
    if (error instanceof TrainingDivergedError) {
      return {
        failure: "diverged",
        message: error.message,
        epoch: error.epoch,
        batch: error.batch,
      };
    }
    if (error instanceof EngineError) {
      return { failure: "engine", message: error.message, field: error.field };
    }
    throw error;
  } finally {
    port.close();
  }
}

// A worker keeps the few networks it predicted with last, so a stream of large batches for
// one model does not parse and copy its weights every time.
const networks = new Map<string, Network>();
const NETWORKS_KEPT = 4;

export function predict(task: PredictTask): Float32Array {
  let network = networks.get(task.key);
  if (network) {
    // Re-inserted: the Map's order is then least recently used first.
    networks.delete(task.key);
    networks.set(task.key, network);
  } else {
    network = loadNetwork(task.architecture, task.weights);
    networks.set(task.key, network);
    if (networks.size > NETWORKS_KEPT) networks.delete(networks.keys().next().value!);
  }
  return network.predict(task.inputs, task.rows);
}
