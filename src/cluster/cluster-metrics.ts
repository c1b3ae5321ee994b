/**
 * GET /metrics across a cluster's serving processes, aggregated by prom-client's
 * AggregatorRegistry: the process that gets the scrape asks the primary, which collects every
 * process's registry (prom-client's own IPC messages) and sums, averages or keeps one of each
 * series as the series says (`aggregator`). A scrape so shows the whole server, whichever
 * process the port handed it to, never one process's share.
 */
import type { Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { ClusterMetrics } from "../app.ts";
import { isPrimaryMessage, isServingMessage, type PrimaryMessage } from "./messages.ts";

/** prom-client gives each process 5 s to send its series; this waits a little longer. */
const SCRAPE_TIMEOUT_MS = 6_000;

/**
 * In a serving process, before anything else: prom-client answers the primary's requests only
 * once an AggregatorRegistry exists in the process (its constructor installs the listener).
 * Until join(), this process answers with no series rather than leave a scrape waiting.
 */
export function clusterMetricsInServingProcess(): ClusterMetrics {
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([]);
  const waiting = new Map<
    number,
    { resolve(text: string): void; reject(error: Error): void; timer: NodeJS.Timeout }
  >();
  let next = 0;
  process.on("message", (message: unknown) => {
    if (!isPrimaryMessage(message) || message.type !== "nnserve:metrics-response") return;
    const pending = waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    clearTimeout(pending.timer);
    if ("error" in message) pending.reject(new Error(`cluster metrics: ${message.error}`));
    else pending.resolve(message.text);
  });
  return {
    join(registry: Registry) {
      AggregatorRegistry.setRegistries([registry]);
    },
    scrape() {
      const id = next++;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(
            new Error(`cluster metrics: no answer from the primary in ${SCRAPE_TIMEOUT_MS} ms`),
          );
        }, SCRAPE_TIMEOUT_MS);
        waiting.set(id, { resolve, reject, timer });
        process.send?.({ type: "nnserve:metrics-request", id });
      });
    },
  };
}

/** In the primary: answers each serving process's metrics requests with the aggregate. */
export function createMetricsAggregator(): { serve(worker: Worker): void } {
  const aggregator = new AggregatorRegistry();
  return {
    serve(worker) {
      worker.on("message", (message: unknown) => {
        if (!isServingMessage(message) || message.type !== "nnserve:metrics-request") return;
        const { id } = message;
        aggregator.clusterMetrics().then(
          (text) => reply(worker, { type: "nnserve:metrics-response", id, text }),
          (error: Error) =>
            reply(worker, { type: "nnserve:metrics-response", id, error: error.message }),
        );
      });
    },
  };
}

function reply(worker: Worker, message: PrimaryMessage): void {
  // The asking process may have died meanwhile; its scrape died with it.
  if (worker.isConnected()) worker.send(message);
}
