/**
 * The worker-thread pools (piscina). Training jobs and large predictions get separate pools:
 * a training job holds its thread for minutes, and a prediction must never queue behind one.
 */
import { MessageChannel, type Transferable } from "node:worker_threads";
import { Piscina } from "piscina";
import { EngineError, type EpochMetrics, TrainingDivergedError } from "../../engine/index.ts";
import type {
  EpochMessage,
  PredictTask,
  ThreadSettings,
  TrainFailure,
  TrainOutcome,
  TrainTask,
} from "./tasks.ts";

const threadEntry = new URL("./thread.ts", import.meta.url).href;

export interface RunTrainingOptions {
  /** Called in order, on the main thread, after each epoch. */
  onEpoch(metrics: EpochMetrics): void;
}

export interface RunningTraining {
  result: Promise<TrainOutcome>;
  /** Asks the thread to stop between batches; `result` then resolves with cancelled: true. */
  cancel(): void;
}

export interface WorkerPool {
  readonly trainingThreads: number;
  /** Training jobs running now. */
  readonly busyTrainingThreads: number;
  train(task: Omit<TrainTask, "port">, options: RunTrainingOptions): RunningTraining;
  predict(task: PredictTask): Promise<Float32Array>;
  /** The nice value a training thread runs at (what the OS says, read in the thread). */
  trainingThreadNice(): Promise<number>;
  /** Share of the pools' thread time spent on tasks since start, in [0, 1]. */
  utilization(): { training: number; prediction: number };
  close(): Promise<void>;
}

export interface WorkerPoolOptions {
  /** 0 in a process that runs no jobs. */
  trainingThreads: number;
  predictionThreads: number;
  /** Nice value each training thread gives itself (0-19; 0 leaves it as the process's). */
  trainingThreadNice?: number;
}

export function createWorkerPool({
  trainingThreads,
  predictionThreads,
  trainingThreadNice = 0,
}: WorkerPoolOptions): WorkerPool {
  const training = new Piscina({
    filename: threadEntry,
    minThreads: 0,
    // A serving-only process (trainingThreads 0) never runs a training task, so this pool
    // never starts a thread; piscina only refuses a maximum of 0.
    maxThreads: Math.max(1, trainingThreads),
    idleTimeout: 60_000,
    workerData: { nice: trainingThreadNice } satisfies ThreadSettings,
  });
  const prediction = new Piscina({
    filename: threadEntry,
    minThreads: 0,
    maxThreads: predictionThreads,
    idleTimeout: 60_000,
  });
  let busy = 0;

  return {
    trainingThreads,
    get busyTrainingThreads() {
      return busy;
    },

    train(task, { onEpoch }) {
      const { port1, port2 } = new MessageChannel();
      port1.on("message", (message: EpochMessage) => {
        if (message.type === "epoch") onEpoch(message.metrics);
      });
      const { data } = task;
      const transferList: Transferable[] = [port2, data.inputs.buffer as ArrayBuffer];
      if (data.targets) transferList.push(data.targets.buffer as ArrayBuffer);
      if (data.labels) transferList.push(data.labels.buffer as ArrayBuffer);
      busy++;
      const result = (
        training.run({ ...task, port: port2 }, { name: "train", transferList }) as Promise<
          TrainOutcome | TrainFailure
        >
      )
        .then((outcome) => {
          if ("failure" in outcome) throw engineErrorOf(outcome);
          return outcome;
        })
        .finally(() => {
          busy--;
          // Epoch messages posted just before the task returned are already queued on port1;
          // closing on the next turn lets them be delivered first.
          setImmediate(() => port1.close());
        });
      return { result, cancel: () => port1.postMessage({ type: "cancel" }) };
    },

    predict(task) {
      return prediction.run(task, {
        name: "predict",
        transferList: [task.inputs.buffer as ArrayBuffer],
      }) as Promise<Float32Array>;
    },

    async trainingThreadNice() {
      return (await training.run(undefined, { name: "nice" })) as number;
    },

    utilization() {
      return { training: training.utilization, prediction: prediction.utilization };
    },

    async close() {
      await Promise.all([training.close({ force: true }), prediction.close({ force: true })]);
    },
  };
}

/** The engine's error again, with the class the runner tells deterministic failures by. */
function engineErrorOf(failure: TrainFailure): Error {
  const error =
    failure.failure === "diverged"
      ? new TrainingDivergedError(failure.epoch ?? 0, failure.batch ?? 0, "")
      : new EngineError(failure.field ?? "", "");
  error.message = failure.message;
  return error;
}
