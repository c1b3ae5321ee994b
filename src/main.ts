/**
 * The process: read the config, start nnserve, stop it cleanly on SIGTERM/SIGINT. With
 * SERVE_PROCESSES > 1 this process is the cluster's primary and each serving process runs this
 * file again as a cluster worker (src/cluster/).
 */
import cluster from "node:cluster";
import closeWithGrace from "close-with-grace";
import { startNnserve } from "./app.ts";
import { runPrimary } from "./cluster/primary.ts";
import { runServingProcess } from "./cluster/serving-process.ts";
import { ConfigError, loadConfig } from "./platform/config.ts";
import { EmbeddedPostgresError } from "./platform/db/embedded.ts";
import { createLogger } from "./platform/logger.ts";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel, pretty: config.env === "development" });

function failedToStart(error: unknown): never {
  // A cause the operator must fix gets one line that names it and the fix, not a stack trace.
  if (error instanceof EmbeddedPostgresError) {
    console.error(`nnserve cannot start: ${error.message}`);
    process.exit(1);
  }
  logger.fatal({ err: error }, "nnserve failed to start");
  process.exit(1);
}

if (cluster.isWorker) {
  await runServingProcess({ config, logger }).catch(failedToStart);
} else if (config.serveProcesses > 1) {
  await runPrimary({ config, logger }).catch(failedToStart);
} else {
  const nnserve = await startNnserve({ config, logger }).catch(failedToStart);
  logger.info(
    { url: nnserve.url, grpc: nnserve.grpcAddress, docs: `${nnserve.url}/docs` },
    "nnserve is ready",
  );

  // The grace delay bounds the whole shutdown: jobs get SHUTDOWN_GRACE_MS of it, then are released.
  closeWithGrace({ delay: config.shutdownGraceMs + 10_000, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, "stopping after an uncaught error");
    else logger.info({ signal }, "stopping");
    await nnserve.close();
  });
}
