/** The process: read the config, start nnserve, stop it cleanly on SIGTERM/SIGINT. */
import closeWithGrace from "close-with-grace";
import { ConfigError, loadConfig } from "./config.ts";
import { EmbeddedPostgresError } from "./db/embedded.ts";
import { createLogger } from "./logger.ts";
import { startNnserve } from "./server.ts";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel, pretty: config.env === "development" });
const nnserve = await startNnserve({ config, logger }).catch((error: unknown) => {
  // A cause the operator must fix gets one line that names it and the fix, not a stack trace.
  if (error instanceof EmbeddedPostgresError) {
    console.error(`nnserve cannot start: ${error.message}`);
    process.exit(1);
  }
  logger.fatal({ err: error }, "nnserve failed to start");
  process.exit(1);
});
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
