/**
 * One serving process of a cluster (a node:cluster worker forked by primary.ts): the whole
 * nnserve, listening on the ports the primary shares, with the job runner only where the primary
 * said so. It stops on the primary's shutdown message, or on a signal of its own (a terminal's
 * Ctrl-C reaches the whole process group), the same ordered way as a single process.
 */
import closeWithGrace from "close-with-grace";
import { startNnserve } from "../app.ts";
import type { Config } from "../platform/config.ts";
import type { Logger } from "../platform/logger.ts";
import { clusterMetricsInServingProcess } from "./cluster-metrics.ts";
import { isPrimaryMessage, RUNS_JOBS_ENV, type ServingMessage } from "./messages.ts";

export async function runServingProcess({
  config,
  logger,
}: {
  config: Config;
  logger: Logger;
}): Promise<void> {
  // First, so that a scrape reaching another process while this one starts is not held up.
  const clusterMetrics = clusterMetricsInServingProcess();
  const runJobs = process.env[RUNS_JOBS_ENV] === "1";
  const nnserve = await startNnserve({
    // Training threads only where jobs run: the others would hold WORKERS idle threads' memory.
    config: runJobs ? config : { ...config, workers: 0 },
    logger,
    runJobs,
    clusterMetrics,
  });
  const ready: ServingMessage = {
    type: "nnserve:ready",
    url: nnserve.url,
    grpcAddress: nnserve.grpcAddress,
  };
  // Logged before the primary hears it, so this line comes before the primary's "nnserve is ready".
  logger.info({ url: nnserve.url, runJobs }, "serving process ready");
  process.send?.(ready);

  const grace = closeWithGrace(
    { delay: config.shutdownGraceMs + 10_000, logger },
    async ({ signal, err }) => {
      if (err) logger.error({ err }, "serving process stopping after an uncaught error");
      else logger.info({ signal: signal ?? "primary" }, "serving process stopping");
      await nnserve.close();
    },
  );
  process.on("message", (message: unknown) => {
    if (isPrimaryMessage(message) && message.type === "nnserve:shutdown") void grace.close();
  });
}
