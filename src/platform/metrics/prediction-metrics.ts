/**
 * nnserve_inference_*: the prediction service's observer (src/prediction/service.ts's
 * PredictionObserver, which this class fits; platform does not import the feature).
 */
import { Counter, Histogram, type Registry } from "prom-client";
import { LATENCY_BUCKETS, QUEUE_BUCKETS, SIZE_BUCKETS } from "./buckets.ts";

export class PredictionMetrics {
  private readonly requests: Counter<"model" | "outcome">;
  private readonly rows: Counter<"model">;
  private readonly duration: Histogram<"model">;
  private readonly batchRows: Histogram;
  private readonly batchRequests: Histogram;
  private readonly queueTime: Histogram;

  constructor(registers: Registry[]) {
    this.requests = new Counter({
      name: "nnserve_inference_requests_total",
      help: "Prediction calls on a resolved model version, by model and outcome.",
      labelNames: ["model", "outcome"] as const,
      registers,
    });
    this.rows = new Counter({
      name: "nnserve_inference_rows_total",
      help: "Input rows predicted, by model.",
      labelNames: ["model"] as const,
      registers,
    });
    this.duration = new Histogram({
      name: "nnserve_inference_duration_seconds",
      help: "Prediction latency inside the service (resolve, queue, forward pass), by model.",
      labelNames: ["model"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchRows = new Histogram({
      name: "nnserve_inference_batch_size_rows",
      help: "Rows per forward pass after dynamic batching.",
      buckets: SIZE_BUCKETS,
      registers,
    });
    this.batchRequests = new Histogram({
      name: "nnserve_inference_batch_requests",
      help: "Requests served by one forward pass.",
      buckets: SIZE_BUCKETS,
      registers,
    });
    this.queueTime = new Histogram({
      name: "nnserve_inference_queue_seconds",
      help: "Time a prediction waited in the batcher before its forward pass started.",
      buckets: QUEUE_BUCKETS,
      registers,
    });
  }

  // Arrow properties: the service calls them detached from the object (observer?.batch?.(…)).
  readonly batch = (rows: number, requests: number): void => {
    this.batchRows.observe(rows);
    this.batchRequests.observe(requests);
  };

  readonly queued = (seconds: number): void => {
    this.queueTime.observe(seconds);
  };

  readonly inference = (model: string, rows: number, seconds: number, ok: boolean): void => {
    this.requests.inc({ model, outcome: ok ? "ok" : "error" });
    if (ok) this.rows.inc({ model }, rows);
    this.duration.observe({ model }, seconds);
  };
}
