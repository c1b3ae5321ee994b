/**
 * The service's environment, parsed once by one zod schema. Start-up fails on the first
 * `loadConfig` call with every bad variable named, so an operator fixes them all in one go.
 */
import { availableParallelism } from "node:os";
import { getHeapStatistics } from "node:v8";
import { z } from "zod";
import { type FieldIssue, formatPath } from "./errors.ts";

export class ConfigError extends Error {
  readonly issues: FieldIssue[];

  constructor(issues: FieldIssue[]) {
    const lines = issues.map((issue) => `  ${issue.path}: ${issue.message}`);
    super(`Invalid configuration:\n${lines.join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

// An empty variable (`PORT=`) means "use the default", as with most twelve-factor services.
const unsetIfEmpty = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value;

function integer(defaultValue: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
  const message = `must be a whole number ${range}`;
  return z.preprocess(
    (value) => unsetIfEmpty(value) ?? String(defaultValue),
    z
      .string()
      .trim()
      .regex(/^-?\d+$/, message)
      .transform(Number)
      .pipe(z.number().int().min(min, message).max(max, message)),
  );
}

/** A decimal in [min, max]; 0 usually means "off". */
function fraction(defaultValue: number, min = 0, max = 1) {
  const message = `must be a number between ${min} and ${max}`;
  return z.preprocess(
    (value) => unsetIfEmpty(value) ?? String(defaultValue),
    z
      .string()
      .trim()
      .regex(/^\d+(\.\d+)?$/, message)
      .transform(Number)
      .pipe(z.number().min(min, message).max(max, message)),
  );
}

/** Overload threshold on the heap: 90% of V8's limit, so 503s come before an out-of-memory crash. */
export function defaultMaxHeapUsedBytes(): number {
  return Math.floor(0.9 * getHeapStatistics().heap_size_limit);
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
const NODE_ENVS = ["development", "production", "test"] as const;
const MiB = 1024 * 1024;

/**
 * Serving processes: a whole number, or `auto` for one per core. 64 is far past where more
 * processes on one machine still help, so a larger number is taken for a typo.
 */
function serveProcesses() {
  const message = "must be a whole number between 1 and 64, or auto (one per core)";
  return z.preprocess(
    (value) => unsetIfEmpty(value) ?? "1",
    z
      .string()
      .trim()
      .regex(/^(\d+|auto)$/, message)
      .transform((value) => (value === "auto" ? availableParallelism() : Number(value)))
      .pipe(z.number().int().min(1, message).max(64, message)),
  );
}

export function defaultWorkers(): number {
  // One core stays free for the event loop that serves HTTP/gRPC.
  return Math.max(1, availableParallelism() - 1);
}

const envVariables = z
  .object({
    NODE_ENV: z.preprocess(unsetIfEmpty, z.enum(NODE_ENVS).default("development")),
    LOG_LEVEL: z.preprocess(unsetIfEmpty, z.enum(LOG_LEVELS).default("info")),
    HOST: z.preprocess(unsetIfEmpty, z.string().default("0.0.0.0")),
    PORT: integer(3000, 0, 65535),
    GRPC_HOST: z.preprocess(unsetIfEmpty, z.string().optional()),
    GRPC_PORT: integer(50051, 0, 65535),
    GRPC_MAX_MESSAGE_BYTES: integer(64 * MiB, 1024),
    GRPC_HEALTH_POLL_MS: integer(1_000, 10),
    DATABASE_URL: z.preprocess(
      unsetIfEmpty,
      z
        .string()
        .regex(/^postgres(ql)?:\/\/\S+$/, "must be a postgres:// or postgresql:// URL")
        .optional(),
    ),
    SERVE_PROCESSES: serveProcesses(),
    WORKERS: integer(defaultWorkers(), 1, 1024),
    TRAINING_THREAD_NICE: integer(10, 0, 19),
    JOB_MAX_ATTEMPTS: integer(3, 1, 100),
    JOB_LEASE_MS: integer(30_000, 1_000),
    JOB_HEARTBEAT_MS: integer(2_000, 100),
    JOB_POLL_MS: integer(2_000, 10),
    JOB_THREADS: integer(1, 1, 2),
    JOB_MAX_SECONDS: integer(21_600, 1),
    STUDY_TICK_MS: integer(1_000, 10),
    SHUTDOWN_GRACE_MS: integer(10_000, 0),
    BODY_LIMIT_BYTES: integer(64 * MiB, 1024),
    IMPORT_BODY_LIMIT_BYTES: integer(64 * MiB, 1024),
    MAX_EPOCHS: integer(10_000, 1),
    MAX_LAYERS: integer(32, 1),
    MAX_UNITS: integer(4096, 1),
    MAX_PARAMETERS: integer(1_000_000, 1),
    MAX_ROWS: integer(100_000, 1),
    MAX_PREDICT_ROWS: integer(10_000, 1),
    DATASET_MAX_BYTES: integer(32 * MiB, 1),
    DATASET_MAX_ROWS: integer(100_000, 1),
    DATASET_MAX_COLUMNS: integer(4_096, 1),
    MAX_ENCODED_VALUES: integer(16_000_000, 1),
    PREDICT_INLINE_MAX_ROWS: integer(256, 0),
    MODEL_CACHE_SIZE: integer(32, 0),
    BATCH_MAX_SIZE: integer(64, 1, 100_000),
    BATCH_MAX_DELAY_US: integer(2_000, 0, 10_000_000),
    PREDICT_INLINE_MAX_WORK: integer(16_000_000, 0),
    PREDICT_RESOLVE_TTL_MS: integer(1_000, 0),
    SCORING_CHUNK_ROWS: integer(2_000, 1, 100_000),
    DRIFT_SAMPLE_RATE: fraction(0.1),
    DRIFT_FLUSH_MS: integer(10_000, 10),
    DRIFT_MAX_ROWS_PER_FLUSH: integer(10_000, 1),
    DRIFT_RETENTION_HOURS: integer(24 * 7, 1),
    PREDICTION_LOG_RATE: fraction(0),
    PREDICTION_LOG_RETENTION_HOURS: integer(24 * 7, 1),
    METRICS: z.preprocess(
      unsetIfEmpty,
      z
        .enum(["true", "false", "1", "0", "on", "off"], "must be true or false")
        .default("true")
        .transform((v) => v === "true" || v === "1" || v === "on"),
    ),
    // Production: authentication, per-key limits, overload shedding, timeouts (docs/production.md).
    AUTH: z.preprocess(unsetIfEmpty, z.enum(["on", "off"], "must be on or off").optional()),
    RATE_LIMIT_PER_MINUTE: integer(1_200, 0),
    MAX_QUEUED_JOBS_PER_KEY: integer(10, 0),
    AUTH_MAX_FAILURES_PER_MINUTE: integer(30, 0),
    TRUST_PROXY_TLS: z.preprocess(
      unsetIfEmpty,
      z
        .enum(["true", "false", "1", "0", "on", "off"], "must be true or false")
        .default("false")
        .transform((v) => v === "true" || v === "1" || v === "on"),
    ),
    HTTP_REQUEST_TIMEOUT_MS: integer(120_000, 0),
    HTTP_CONNECTION_TIMEOUT_MS: integer(60_000, 0),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(72_000, 1),
    HTTP_EVENTS_HEARTBEAT_MS: integer(15_000, 100),
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: integer(1_000, 0),
    // Off by default: a loop busy all the time but answering promptly (low delay) is serving at
    // full speed, and shedding it at high utilisation only cut throughput (seen under load
    // tests); the event-loop delay is the sign of harm.
    OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: fraction(0),
    OVERLOAD_MAX_HEAP_USED_BYTES: integer(defaultMaxHeapUsedBytes(), 0),
    OVERLOAD_MAX_RSS_BYTES: integer(0, 0),
    OVERLOAD_RETRY_AFTER_S: integer(10, 1),
    OVERLOAD_SAMPLE_MS: integer(1_000, 10),
  })
  .superRefine((env, ctx) => {
    // The embedded Postgres is for development: it writes under the working directory and dies
    // with the process.
    if (env.NODE_ENV === "production" && !env.DATABASE_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["DATABASE_URL"],
        message: "is required when NODE_ENV=production",
      });
    }
    // A heartbeat slower than the lease lets a healthy job's lease expire and be stolen.
    if (env.JOB_HEARTBEAT_MS >= env.JOB_LEASE_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["JOB_HEARTBEAT_MS"],
        message: `must be less than JOB_LEASE_MS (${env.JOB_LEASE_MS})`,
      });
    }
  });

type Env = z.output<typeof envVariables>;

const envSchema = envVariables.transform(toConfig);

export type Config = z.output<typeof envSchema>;
export type Limits = Config["limits"];

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = envSchema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
  );
}

/** The parsed variables as the service reads them, grouped by section. */
function toConfig(env: Env) {
  return {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    host: env.HOST,
    port: env.PORT,
    grpc: grpcConfig(env),
    /** Unset: the service starts an embedded Postgres. */
    databaseUrl: env.DATABASE_URL,
    /**
     * Processes serving HTTP and gRPC on the same ports (node:cluster); above 1, one of them
     * also runs the job runner (src/cluster/, docs/architecture.md).
     */
    serveProcesses: env.SERVE_PROCESSES,
    /** Training threads in the worker pool (of the one process that runs jobs). */
    workers: env.WORKERS,
    /**
     * The nice value of training threads (Linux keeps one per thread): above 0, a core that a
     * training job and the event loop share goes to serving first.
     */
    trainingThreadNice: env.TRAINING_THREAD_NICE,
    jobs: jobsConfig(env),
    /**
     * Studies (src/training/studies): how often every replica's conductor looks at the running
     * studies, and a follower of a study's events reads them, when no NOTIFY wakes them sooner.
     */
    studies: { tickMs: env.STUDY_TICK_MS },
    /** On SIGTERM, how long running jobs may go on before they are released to the queue. */
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    limits: limitsConfig(env),
    /** Dataset uploads: bytes of the file, data rows and columns (413 past any). */
    datasets: {
      maxBytes: env.DATASET_MAX_BYTES,
      maxRows: env.DATASET_MAX_ROWS,
      maxColumns: env.DATASET_MAX_COLUMNS,
    },
    /** Models kept deserialized in memory for prediction; 0 disables the cache. */
    modelCacheSize: env.MODEL_CACHE_SIZE,
    /**
     * Dynamic batching of concurrent predictions for one version (Triton's max_batch_size and
     * max_queue_delay_microseconds); a delay of 0 turns it off. See docs/serving.md.
     */
    batching: {
      maxBatchSize: env.BATCH_MAX_SIZE,
      maxDelayMs: env.BATCH_MAX_DELAY_US / 1000,
    },
    /** Forward passes costing more multiply-adds (rows x parameters) run in the worker pool. */
    predictInlineMaxWork: env.PREDICT_INLINE_MAX_WORK,
    /**
     * How long predict reuses a model name -> ready version lookup; 0 queries every time. A
     * version trained or a model deleted on another replica is seen within this time.
     */
    predictResolveTtlMs: env.PREDICT_RESOLVE_TTL_MS,
    /**
     * Batch scoring (src/prediction/batch): rows per chunk, the unit of progress, of what is
     * stored at once and of what a crash makes run again.
     */
    scoring: { chunkRows: env.SCORING_CHUNK_ROWS },
    drift: driftConfig(env),
    predictionLog: predictionLogConfig(env),
    /** GET /metrics and the collectors behind it. */
    metrics: env.METRICS,
    ...productionConfig(env),
    http: httpConfig(env),
    overload: overloadConfig(env),
  };
}

function grpcConfig(env: Env) {
  return {
    /** Unset: the same as HOST. */
    host: env.GRPC_HOST ?? env.HOST,
    port: env.GRPC_PORT,
    /** Largest message in or out, like BODY_LIMIT_BYTES for REST (grpc-js: 4 MiB). */
    maxMessageBytes: env.GRPC_MAX_MESSAGE_BYTES,
    /** How often grpc.health.v1.Health re-reads readiness (pushed to Watch callers on change). */
    healthPollMs: env.GRPC_HEALTH_POLL_MS,
  };
}

function jobsConfig(env: Env) {
  return {
    maxAttempts: env.JOB_MAX_ATTEMPTS,
    leaseMs: env.JOB_LEASE_MS,
    heartbeatMs: env.JOB_HEARTBEAT_MS,
    /** Polling for due jobs; NOTIFY wakes workers sooner, this is the fallback. */
    pollMs: env.JOB_POLL_MS,
    /**
     * Threads one job trains on: 2 splits each batch over both cores (native or WebAssembly
     * kernels only). Worth it where the machine has a core to spare beyond WORKERS and the
     * event loop.
     */
    threads: env.JOB_THREADS as 1 | 2,
  };
}

function limitsConfig(env: Env) {
  return {
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    /**
     * POST /models/{name}/import: a portable model file carries its weights in base64, ~5.4
     * bytes per parameter, so MAX_PARAMETERS' default (1M) is ~5.5 MB and 64 MiB fits ~12M;
     * raise it with MAX_PARAMETERS.
     */
    importBodyLimitBytes: env.IMPORT_BODY_LIMIT_BYTES,
    maxEpochs: env.MAX_EPOCHS,
    maxLayers: env.MAX_LAYERS,
    /** Per layer, and for the input width too. */
    maxUnits: env.MAX_UNITS,
    maxParameters: env.MAX_PARAMETERS,
    /** Training rows per request. */
    maxRows: env.MAX_ROWS,
    maxPredictRows: env.MAX_PREDICT_ROWS,
    /** Prediction batches up to this many rows run on the event loop; larger ones in the pool. */
    predictInlineMaxRows: env.PREDICT_INLINE_MAX_ROWS,
    /**
     * Training from a dataset: rows x encoded width (one-hot columns included), checked from
     * the fitted categories before encoding; 16M values are 64 MB of Float32.
     */
    maxEncodedValues: env.MAX_ENCODED_VALUES,
    /**
     * The longest a job's attempt may run, and the default of training.timeBudgetSeconds;
     * past it the job fails, so no job holds a training thread for days.
     */
    maxJobSeconds: env.JOB_MAX_SECONDS,
  };
}

/**
 * Drift (src/prediction/drift): the share of prediction requests whose rows are counted, how
 * often counts go to Postgres, at most how many rows a version counts between two writes, and
 * how long the per-minute counts are kept.
 */
function driftConfig(env: Env) {
  return {
    sampleRate: env.DRIFT_SAMPLE_RATE,
    flushMs: env.DRIFT_FLUSH_MS,
    maxRowsPerFlush: env.DRIFT_MAX_ROWS_PER_FLUSH,
    retentionMs: env.DRIFT_RETENTION_HOURS * 3_600_000,
  };
}

/**
 * Live accuracy (src/prediction/feedback): the share of prediction requests whose rows are
 * stored with a predictionId for feedback (0: none, and no predictionIds), kept this long.
 */
function predictionLogConfig(env: Env) {
  return {
    rate: env.PREDICTION_LOG_RATE,
    retentionMs: env.PREDICTION_LOG_RETENTION_HOURS * 3_600_000,
  };
}

/** Production: authentication, per-key limits, TLS at a proxy (docs/production.md). */
function productionConfig(env: Env) {
  return {
    /** API keys on every route but probes and metrics: on by default only in production. */
    auth: (env.AUTH ?? (env.NODE_ENV === "production" ? "on" : "off")) === "on",
    /** Requests per minute per API key; requests without a key are not limited. 0: off. */
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    /** Queued or running training jobs one key may have; 0 turns it off. */
    maxQueuedJobsPerKey: env.MAX_QUEUED_JOBS_PER_KEY,
    /**
     * Failed authentications per client address per minute (AUTH on); past it the address gets
     * 429 before its keys are looked up. 0 turns it off.
     */
    authMaxFailuresPerMinute: env.AUTH_MAX_FAILURES_PER_MINUTE,
    /**
     * Clients reach the server over https (TLS ends at a proxy in front): only then do pages ask
     * browsers to upgrade their requests to https (CSP upgrade-insecure-requests) and send HSTS.
     * Off, /docs and the dashboard work over plain http by host name.
     */
    trustProxyTls: env.TRUST_PROXY_TLS,
  };
}

function httpConfig(env: Env) {
  return {
    /** Receiving a whole request (fastify requestTimeout); 0 turns it off. */
    requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
    /** A socket with no traffic is closed (fastify connectionTimeout); 0 turns it off. */
    connectionTimeoutMs: env.HTTP_CONNECTION_TIMEOUT_MS,
    /** Idle keep-alive connections; longer than a load balancer's idle timeout. */
    keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    /** A comment on an idle event stream, well inside proxies' and connectionTimeout's idle limits. */
    eventsHeartbeatMs: env.HTTP_EVENTS_HEARTBEAT_MS,
  };
}

/** Load shedding (@fastify/under-pressure): past any threshold, 503 with Retry-After. 0 = off. */
function overloadConfig(env: Env) {
  return {
    maxEventLoopDelayMs: env.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
    maxEventLoopUtilization: env.OVERLOAD_MAX_EVENT_LOOP_UTILIZATION,
    maxHeapUsedBytes: env.OVERLOAD_MAX_HEAP_USED_BYTES,
    maxRssBytes: env.OVERLOAD_MAX_RSS_BYTES,
    retryAfterSeconds: env.OVERLOAD_RETRY_AFTER_S,
    sampleIntervalMs: env.OVERLOAD_SAMPLE_MS,
  };
}
