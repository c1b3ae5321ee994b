/**
 * The Prometheus series of one nnserve instance, in a registry of its own (never prom-client's
 * global one), so several servers in one process (tests) keep separate counts. The services do
 * not import this: they take plain observer objects, which `prediction` and `training` are.
 * Each group of series is a class of its own in metrics/ (http, prediction, training, pools);
 * this file only puts them in one registry.
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
 *   nnserve_predictions_total{model,version,outcome}, nnserve_shadow_*   metrics/lifecycle-metrics.ts
 *   process_* and nodejs_* (prom-client defaults, including nodejs_eventloop_lag_seconds)
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import { registerEngineGauge } from "./metrics/engine-metrics.ts";
import { HttpMetrics } from "./metrics/http-metrics.ts";

export { createLifecycleMetrics } from "./metrics/lifecycle-metrics.ts";

import { type PoolGauges, registerPoolGauges } from "./metrics/pool-metrics.ts";
import { PredictionMetrics } from "./metrics/prediction-metrics.ts";
import {
  type JobCounts,
  registerJobGauges,
  TrainingMetrics,
  type TrainingObserver,
} from "./metrics/training-metrics.ts";

export type { JobCounts, TrainingObserver };

export interface MetricsDeps {
  /** Read at every scrape; a failure leaves those gauges out of that scrape. */
  jobCounts?(): Promise<JobCounts>;
  pool?: PoolGauges;
  predictionThreads?: number;
  /** The engine's kernel backend ("native-avx512", "relaxed", ...), as nnserve_engine_backend. */
  engineBackend?: string;
  /** process_* and nodejs_* series (default true). */
  processMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** One answered HTTP request; `route` is the route pattern, never the raw URL. */
  httpRequest(method: string, route: string, statusCode: number, seconds: number): void;
  /** The prediction service's observer (PredictionObserver in src/prediction/service.ts). */
  readonly prediction: PredictionMetrics;
  readonly training: TrainingObserver;
  /** The exposition text. */
  scrape(): Promise<string>;
}

export function createMetrics(deps: MetricsDeps = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (deps.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  // Registered in this order, which is the exposition's order.
  const http = new HttpMetrics(registers);
  const prediction = new PredictionMetrics(registers);
  const training = new TrainingMetrics(registers);
  if (deps.engineBackend) registerEngineGauge(deps.engineBackend, registers);
  if (deps.jobCounts) registerJobGauges(deps.jobCounts, registers);
  if (deps.pool) registerPoolGauges(deps.pool, deps.predictionThreads, registers);
  return {
    registry,
    contentType: registry.contentType,
    httpRequest: (method, route, statusCode, seconds) =>
      http.request(method, route, statusCode, seconds),
    prediction,
    training,
    scrape: () => registry.metrics(),
  };
}
