/** nnserve_worker_pool_*: the piscina pools' threads and how busy they are. */
import { Gauge, type Registry } from "prom-client";

export interface PoolGauges {
  readonly trainingThreads: number;
  readonly busyTrainingThreads: number;
  utilization(): { training: number; prediction: number };
}

export function registerPoolGauges(
  pool: PoolGauges,
  predictionThreads: number | undefined,
  registers: Registry[],
): void {
  new Gauge({
    name: "nnserve_worker_pool_utilization_ratio",
    help: "Share of the worker threads' time spent running tasks since start.",
    labelNames: ["pool"] as const,
    // Across a cluster's processes, the mean of pools of one size each; a process with no
    // training threads reports no training share, so it does not pull the mean down.
    aggregator: "average",
    registers,
    collect() {
      const u = pool.utilization();
      if (pool.trainingThreads > 0) this.set({ pool: "training" }, u.training);
      this.set({ pool: "prediction" }, u.prediction);
    },
  });
  new Gauge({
    name: "nnserve_worker_pool_threads",
    help: "Worker threads each pool may run.",
    labelNames: ["pool"] as const,
    registers,
    collect() {
      this.set({ pool: "training" }, pool.trainingThreads);
      if (predictionThreads !== undefined) this.set({ pool: "prediction" }, predictionThreads);
    },
  });
  new Gauge({
    name: "nnserve_worker_pool_busy_threads",
    help: "Worker threads running a training job now.",
    labelNames: ["pool"] as const,
    registers,
    collect() {
      this.set({ pool: "training" }, pool.busyTrainingThreads);
    },
  });
}
