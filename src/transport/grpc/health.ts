/**
 * grpc.health.v1.Health (grpc-health-check's implementation) following readiness: every
 * `pollMs` the readiness checks run, and the status of the server ("") and of each service
 * becomes SERVING or NOT_SERVING; Watch callers are told on each change. At shutdown everything
 * turns NOT_SERVING at once, before the server stops taking calls.
 */
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { Logger } from "../../platform/logger.ts";
import type { Readiness } from "../services.ts";

export interface HealthMonitor {
  implementation: HealthImplementation;
  /** Runs the checks once now (the first status is known before the server listens). */
  refresh(): Promise<void>;
  start(): void;
  /** NOT_SERVING for good; stops polling. */
  stop(): void;
}

export function createHealthMonitor({
  readiness,
  services,
  pollMs,
  logger,
}: {
  readiness: Readiness;
  /** Fully qualified names of the services served, e.g. "nnserve.v1.Training". */
  services: readonly string[];
  pollMs: number;
  logger: Logger;
}): HealthMonitor {
  const names = ["", ...services];
  const implementation = new HealthImplementation(
    Object.fromEntries(names.map((name) => [name, "NOT_SERVING" as ServingStatus])),
  );
  let current: ServingStatus = "NOT_SERVING";
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const set = (status: ServingStatus) => {
    if (status === current) return;
    current = status;
    for (const name of names) implementation.setStatus(name, status);
  };

  async function refresh() {
    let ready = false;
    try {
      ready = (await readiness.check()).ready;
    } catch (error) {
      logger.error({ err: error }, "readiness check threw");
    }
    if (!stopped) set(ready ? "SERVING" : "NOT_SERVING");
  }

  const loop = () => {
    timer = setTimeout(() => {
      void refresh().finally(() => {
        if (!stopped) loop();
      });
    }, pollMs);
    timer.unref();
  };

  return {
    implementation,
    refresh,
    start: loop,
    stop() {
      stopped = true;
      clearTimeout(timer);
      set("NOT_SERVING");
    },
  };
}
