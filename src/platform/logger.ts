/**
 * The process logger (the one allowed module-level singleton is created by main.ts, not here).
 * JSON lines in production; pino-pretty only when asked for and installed, because it is a
 * devDependency and `npm ci --omit=dev` images do not have it.
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

export type { Logger } from "pino";

export interface LoggerSettings {
  level: string;
  /** Human-readable output; ignored (JSON is kept) when pino-pretty is not installed. */
  pretty?: boolean;
  /** Where lines go; default stdout. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
}

// API keys (Authorization: Bearer, gRPC `authorization` metadata) must never reach a log line,
// wherever a request's headers or metadata are logged. Keys are named by their prefix instead.
const REDACT = [
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  'req.headers["idempotency-key"]',
  "headers.authorization",
  "request.headers.authorization",
  "metadata.authorization",
  "authorization",
];

function prettyAvailable(): boolean {
  try {
    import.meta.resolve("pino-pretty");
    return true;
  } catch {
    return false;
  }
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    redact: { paths: REDACT, censor: "[redacted]" },
  };
  if (settings.destination) return pino(options, settings.destination);
  if (settings.pretty && prettyAvailable()) {
    return pino({
      ...options,
      transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l" } },
    });
  }
  return pino(options);
}
