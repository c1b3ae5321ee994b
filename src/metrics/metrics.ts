/**
 * The Prometheus series of one nnserve instance, in a registry of its own (never prom-client's
 * global one), so several servers in one process (tests) keep separate counts. The services do
 * not import this: they take plain observer objects, which `prediction` and `training` are.
 *
 * Series (all counters end in _total, all durations are in seconds):
 *   nnserve_http_requests_total{method,route,status_code}
 *   nnserve_http_request_duration_seconds{method,route,status_code}      histogram
 *   nnserve_inference_requests_total{model,outcome}                      outcome: ok | error
 *   nnserve_inference_rows_total{model}
 *   nnserve_inference_duration_seconds{model}                            histogram
 *   nnserve_inference_batch_size_rows                                    histogram, per forward pass
 *   nnserve_inference_batch_requests                                     histogram, per forward pass
 *   nnserve_inference_queue_seconds                                      histogram, per request
 *   nnserve_training_jobs{status}                                        gauge, read from Postgres
 *   nnserve_training_queue_depth                                         gauge, due queued jobs
 *   nnserve_training_job_attempts_total{outcome}                         this process's runner
 *   nnserve_training_epochs_total
 *   nnserve_training_samples_total
 *   nnserve_training_samples_per_second                                  gauge, running jobs' last epochs
 *   nnserve_worker_pool_utilization_ratio{pool}                          gauge in [0, 1]
 *   nnserve_worker_pool_threads{pool}, nnserve_worker_pool_busy_threads{pool}
 *   nnserve_engine_backend{backend}                                      1 for the kernels networks run on
 *   process_* and nodejs_* (prom-client defaults, including nodejs_eventloop_lag_seconds)
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { PredictionObserver } from "../services/prediction-service.ts";

export interface JobCounts {
  byStatus: Record<string, number>;
  /** Queued jobs whose run time has come. */
  due: number;
}

export interface MetricsDeps {
  /** Read at every scrape; a failure leaves those gauges out of that scrape. */
  jobCounts?(): Promise<JobCounts>;
  pool?: {
    readonly trainingThreads: number;
    readonly busyTrainingThreads: number;
    utilization(): { training: number; prediction: number };
  };
  predictionThreads?: number;
  /** The engine's kernel backend ("native-avx512", "relaxed", ...), as nnserve_engine_backend. */
  engineBackend?: string;
  /** process_* and nodejs_* series (default true). */
  processMetrics?: boolean;
}

export interface TrainingObserver {
  /** One finished epoch of a job over `samples` training rows. */
  epoch(jobId: string, durationMs: number, samples: number): void;
  jobEnd(jobId: string, outcome: string): void;
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** One answered HTTP request; `route` is the route pattern, never the raw URL. */
  httpRequest(method: string, route: string, statusCode: number, seconds: number): void;
  readonly prediction: PredictionObserver;
  readonly training: TrainingObserver;
  /** The exposition text. */
  scrape(): Promise<string>;
}

const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

// Latencies from 100 µs (a small model inline) to 10 s (a large batch behind training).
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const QUEUE_BUCKETS = [0, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

export function createMetrics(deps: MetricsDeps = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (deps.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const httpRequests = new Counter({
    name: "nnserve_http_requests_total",
    help: "HTTP requests answered, by route pattern, method and status code.",
    labelNames: ["method", "route", "status_code"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "nnserve_http_request_duration_seconds",
    help: "Time from receiving an HTTP request to sending its response.",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });

  const httpChildren = new Map<
    string,
    { count: { inc(): void }; duration: { observe(value: number): void } }
  >();

  const inferenceRequests = new Counter({
    name: "nnserve_inference_requests_total",
    help: "Prediction calls on a resolved model version, by model and outcome.",
    labelNames: ["model", "outcome"] as const,
    registers,
  });
  const inferenceRows = new Counter({
    name: "nnserve_inference_rows_total",
    help: "Input rows predicted, by model.",
    labelNames: ["model"] as const,
    registers,
  });
  const inferenceDuration = new Histogram({
    name: "nnserve_inference_duration_seconds",
    help: "Prediction latency inside the service (resolve, queue, forward pass), by model.",
    labelNames: ["model"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const batchRows = new Histogram({
    name: "nnserve_inference_batch_size_rows",
    help: "Rows per forward pass after dynamic batching.",
    buckets: SIZE_BUCKETS,
    registers,
  });
  const batchRequests = new Histogram({
    name: "nnserve_inference_batch_requests",
    help: "Requests served by one forward pass.",
    buckets: SIZE_BUCKETS,
    registers,
  });
  const queueTime = new Histogram({
    name: "nnserve_inference_queue_seconds",
    help: "Time a prediction waited in the batcher before its forward pass started.",
    buckets: QUEUE_BUCKETS,
    registers,
  });

  const jobAttempts = new Counter({
    name: "nnserve_training_job_attempts_total",
    help: "Training job attempts this process ended, by outcome.",
    labelNames: ["outcome"] as const,
    registers,
  });
  const epochs = new Counter({
    name: "nnserve_training_epochs_total",
    help: "Training epochs finished in this process.",
    registers,
  });
  const samples = new Counter({
    name: "nnserve_training_samples_total",
    help: "Training rows processed in this process (rows x epochs).",
    registers,
  });
  if (deps.engineBackend) {
    // Every process of a cluster runs the same build on the same CPU: one series, not a sum.
    new Gauge({
      name: "nnserve_engine_backend",
      help: "The engine's kernel backend in this process (1 for the one in use).",
      labelNames: ["backend"],
      registers,
      aggregator: "max",
    }).set({ backend: deps.engineBackend }, 1);
  }
  const rates = new Map<string, number>();
  new Gauge({
    name: "nnserve_training_samples_per_second",
    help: "Training throughput of the jobs running in this process, from each one's last epoch.",
    registers,
    collect() {
      let sum = 0;
      for (const rate of rates.values()) sum += rate;
      this.set(sum);
    },
  });

  const { jobCounts } = deps;
  if (jobCounts) {
    // One grouped count per scrape serves both gauges.
    let reading: Promise<JobCounts | undefined> | undefined;
    const read = () => {
      reading ??= jobCounts()
        .catch(() => undefined)
        .finally(() => {
          setImmediate(() => {
            reading = undefined;
          });
        });
      return reading;
    };
    // Every serving process of a cluster reads the same table: aggregated, one count, not a sum.
    new Gauge({
      name: "nnserve_training_jobs",
      help: "Training jobs by status, across all replicas (read from Postgres at scrape time).",
      labelNames: ["status"] as const,
      aggregator: "max",
      registers,
      async collect() {
        const counts = await read();
        this.reset();
        if (!counts) return;
        for (const status of JOB_STATUSES) this.set({ status }, counts.byStatus[status] ?? 0);
      },
    });
    new Gauge({
      name: "nnserve_training_queue_depth",
      help: "Queued training jobs whose run time has come, across all replicas.",
      aggregator: "max",
      registers,
      async collect() {
        const counts = await read();
        this.reset();
        if (counts) this.set(counts.due);
      },
    });
  }

  const { pool } = deps;
  if (pool) {
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
        if (deps.predictionThreads !== undefined) {
          this.set({ pool: "prediction" }, deps.predictionThreads);
        }
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

  return {
    registry,
    contentType: registry.contentType,
    httpRequest(method, route, statusCode, seconds) {
      // Label sets are few (routes x methods x statuses): bind each once, skip hashing after.
      const key = `${method} ${route} ${statusCode}`;
      let bound = httpChildren.get(key);
      if (!bound) {
        const labels = { method, route, status_code: String(statusCode) };
        bound = { count: httpRequests.labels(labels), duration: httpDuration.labels(labels) };
        httpChildren.set(key, bound);
      }
      bound.count.inc();
      bound.duration.observe(seconds);
    },
    prediction: {
      batch(rows, requests) {
        batchRows.observe(rows);
        batchRequests.observe(requests);
      },
      queued(seconds) {
        queueTime.observe(seconds);
      },
      inference(model, rows, seconds, ok) {
        inferenceRequests.inc({ model, outcome: ok ? "ok" : "error" });
        if (ok) inferenceRows.inc({ model }, rows);
        inferenceDuration.observe({ model }, seconds);
      },
    },
    training: {
      epoch(jobId, durationMs, rows) {
        epochs.inc();
        samples.inc(rows);
        if (durationMs > 0) rates.set(jobId, (rows * 1000) / durationMs);
      },
      jobEnd(jobId, outcome) {
        jobAttempts.inc({ outcome });
        rates.delete(jobId);
      },
    },
    scrape: () => registry.metrics(),
  };
}
