/** nnserve_http_requests_total and nnserve_http_request_duration_seconds. */
import { Counter, Histogram, type Registry } from "prom-client";
import { LATENCY_BUCKETS } from "./buckets.ts";

interface BoundSeries {
  count: { inc(): void };
  duration: { observe(value: number): void };
}

export class HttpMetrics {
  private readonly requests: Counter<"method" | "route" | "status_code">;
  private readonly duration: Histogram<"method" | "route" | "status_code">;
  /** Label sets are few (routes x methods x statuses): each is bound once, no hashing after. */
  private readonly bound = new Map<string, BoundSeries>();

  constructor(registers: Registry[]) {
    this.requests = new Counter({
      name: "nnserve_http_requests_total",
      help: "HTTP requests answered, by route pattern, method and status code.",
      labelNames: ["method", "route", "status_code"] as const,
      registers,
    });
    this.duration = new Histogram({
      name: "nnserve_http_request_duration_seconds",
      help: "Time from receiving an HTTP request to sending its response.",
      labelNames: ["method", "route", "status_code"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
  }

  /** One answered HTTP request; `route` is the route pattern, never the raw URL. */
  request(method: string, route: string, statusCode: number, seconds: number): void {
    const key = `${method} ${route} ${statusCode}`;
    let series = this.bound.get(key);
    if (!series) {
      const labels = { method, route, status_code: String(statusCode) };
      series = { count: this.requests.labels(labels), duration: this.duration.labels(labels) };
      this.bound.set(key, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }
}
