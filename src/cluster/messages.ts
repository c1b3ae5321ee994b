/**
 * What the primary and its serving processes say to each other over the cluster's IPC channel.
 * Every type starts with "nnserve:", apart from node's own cluster messages and prom-client's
 * ("prom-client:getMetricsReq"), which share the channel.
 */

/** From a serving process. */
export type ServingMessage =
  /** Listening on the shared ports, migrated, ready to serve. */
  | { type: "nnserve:ready"; url: string; grpcAddress: string }
  /** A scrape of GET /metrics arrived here: the primary answers with every process's series. */
  | { type: "nnserve:metrics-request"; id: number };

/** From the primary. */
export type PrimaryMessage =
  /** Stop as on SIGTERM: readiness false, jobs finished or released, then exit 0. */
  | { type: "nnserve:shutdown" }
  | { type: "nnserve:metrics-response"; id: number; text: string }
  | { type: "nnserve:metrics-response"; id: number; error: string };

export function isServingMessage(message: unknown): message is ServingMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === "nnserve:ready" || type === "nnserve:metrics-request";
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === "nnserve:shutdown" || type === "nnserve:metrics-response";
}

/** The environment variable that tells the one serving process that also runs jobs. */
export const RUNS_JOBS_ENV = "NNSERVE_RUNS_JOBS";
