/**
 * The composition root as a function: config -> database -> queue, pool, services -> HTTP ->
 * job runner, and the one ordered shutdown of all of it. main.ts adds only process concerns
 * (signals, exit codes); tests start whole servers in-process with it.
 */

import type { Registry } from "prom-client";
import { createGrpcGuard } from "./auth/grpc-guard.ts";
import { createKeyStore } from "./auth/key-store.ts";
import type { Config } from "./config.ts";
import { createDatabase } from "./db/client.ts";
import { startEmbeddedPostgres } from "./db/embedded.ts";
import { isUpToDate, migrate } from "./db/migrator.ts";
import { defaultKernelBackend, nativeStatus } from "./engine/index.ts";
import { createGrpcServer, type GrpcServer } from "./grpc/server.ts";
import { buildApp } from "./http/app.ts";
import type { Logger } from "./logger.ts";
import { jobCountsFrom } from "./metrics/job-counts.ts";
import { createMetrics, type Metrics } from "./metrics/metrics.ts";
import { NNSERVE_VERSION } from "./package-version.ts";
import { createJobQueue } from "./queue/job-queue.ts";
import { createJobNotifier } from "./queue/notifier.ts";
import { createJobRunner, type JobRunner } from "./queue/runner.ts";
import { createDatasetService } from "./services/dataset-service.ts";
import { evaluateTestSplit } from "./services/evaluation.ts";
import { createJobWatch, type JobWatch } from "./services/job-watch.ts";
import { ModelCache } from "./services/model-cache.ts";
import { createModelFileService } from "./services/model-files.ts";
import { createModelRegistry } from "./services/model-registry.ts";
import { createPredictionService } from "./services/prediction-service.ts";
import { createReadiness } from "./services/readiness.ts";
import { createTrainingService } from "./services/training-service.ts";
import { loadTrainingTask } from "./services/training-task.ts";
import type { Services } from "./services/types.ts";
import { createWorkerPool } from "./workers/pool.ts";

export interface Nnserve {
  /** Base URL of the REST API, e.g. http://127.0.0.1:3000. */
  url: string;
  /** Where gRPC clients dial, e.g. 127.0.0.1:50051. */
  grpcAddress: string;
  grpc: GrpcServer;
  databaseUrl: string;
  services: Services;
  runner: JobRunner;
  /** Follows jobs for gRPC WatchJob and GET /jobs/{id}/events. */
  jobWatch: JobWatch;
  /** This instance's Prometheus registry; undefined with METRICS=false. */
  metrics: Metrics | undefined;
  /** Ordered, idempotent shutdown: see close() below. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  /** Take no jobs (an API-only replica, or tests that drive the queue themselves). */
  runJobs?: boolean;
  /**
   * In one serving process of several (src/cluster/): this instance's registry joins the
   * others', and GET /metrics answers with all of them instead of this process's share.
   */
  clusterMetrics?: ClusterMetrics;
}

export interface ClusterMetrics {
  /** Called with this instance's registry before the first request is served. */
  join(registry: Registry): void;
  /** The exposition text of every serving process, aggregated. */
  scrape(): Promise<string>;
}

export async function startNnserve({
  config,
  logger,
  runJobs = true,
  clusterMetrics,
}: StartOptions): Promise<Nnserve> {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn();
  };
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres({ logger });
      cleanups.push(embedded.stop);
      databaseUrl = embedded.url;
      logger.info("DATABASE_URL is unset: using an embedded Postgres");
    }
    const db = createDatabase({ url: databaseUrl, logger, poolSize: 10 + config.workers * 2 });
    cleanups.push(db.close);
    await migrate({ pool: db.pool, logger });

    const engineBackend = defaultKernelBackend();
    const nativeWhy = nativeStatus();
    logger.info(
      { kernels: engineBackend, ...(nativeWhy ? { native: nativeWhy } : {}) },
      `engine kernels: ${engineBackend}`,
    );
    const predictionThreads = 1;
    const pool = createWorkerPool({
      trainingThreads: config.workers,
      predictionThreads,
      trainingThreadNice: config.trainingThreadNice,
    });
    let poolUp = true;
    cleanups.push(async () => {
      poolUp = false;
      await pool.close();
    });

    let shuttingDown = false;
    const queue = createJobQueue({ pool: db.pool });
    const cache = new ModelCache(config.modelCacheSize);
    let metrics = config.metrics
      ? createMetrics({
          jobCounts: jobCountsFrom(db.pool),
          pool,
          predictionThreads,
          engineBackend,
        })
      : undefined;
    if (metrics && clusterMetrics) {
      clusterMetrics.join(metrics.registry);
      metrics = { ...metrics, scrape: clusterMetrics.scrape };
    }
    const prediction = createPredictionService({
      db,
      pool,
      cache,
      inlineMaxRows: config.limits.predictInlineMaxRows,
      inlineMaxWork: config.predictInlineMaxWork,
      resolveTtlMs: config.predictResolveTtlMs,
      batching: config.batching,
      observer: metrics?.prediction,
    });
    const datasets = createDatasetService({ db });
    const services: Services = {
      datasets,
      training: createTrainingService({
        db,
        queue,
        datasets,
        maxParameters: config.limits.maxParameters,
        maxAttempts: config.jobs.maxAttempts,
        maxQueuedJobsPerKey: config.maxQueuedJobsPerKey,
      }),
      prediction,
      models: createModelRegistry({
        db,
        onDeleted: (name) => {
          prediction.dropModel(name);
        },
      }),
      modelFiles: createModelFileService({
        db,
        maxParameters: config.limits.maxParameters,
        nnserveVersion: NNSERVE_VERSION,
        // A new ready version: unversioned predictions here move to it at once.
        onImported: () => prediction.forgetResolutions(),
      }),
      readiness: createReadiness({
        db,
        migrated: () => isUpToDate({ pool: db.pool }),
        poolUp: () => poolUp,
        shuttingDown: () => shuttingDown,
        engineBackend,
      }),
    };

    const runner = createJobRunner({
      queue,
      pool,
      loadTask: async (job) => ({
        ...(await loadTrainingTask(db, job)),
        threads: config.jobs.threads,
      }),
      evaluate: (job, weights) =>
        evaluateTestSplit(db, job, weights, (architecture, w, inputs, rows) =>
          // A key of its own: these weights may yet be thrown away (a lost lease), so they must
          // not stand in the threads' cache for the version's.
          pool.predict({
            key: `test-split:${job.id}:${job.attempts}`,
            architecture,
            weights: w,
            inputs,
            rows,
          }),
        ),
      logger,
      leaseMs: config.jobs.leaseMs,
      heartbeatMs: config.jobs.heartbeatMs,
      pollMs: config.jobs.pollMs,
      onEpochEnd: (jobId, epoch, samples) =>
        metrics?.training.epoch(jobId, epoch.durationMs, samples),
      onJobEnd: (jobId, end) => {
        // A new ready version: unversioned predictions here move to it at once.
        if (end === "succeeded") prediction.forgetResolutions();
        metrics?.training.jobEnd(jobId, end);
      },
    });
    const notifier = createJobNotifier({ url: databaseUrl, logger, onNotify: () => runner.wake() });

    const keys = createKeyStore({ db });
    if (!config.auth) {
      logger.warn(
        "AUTH=off: every route is open to anyone who can reach this server; local development only",
      );
    }
    const stopping = () => shuttingDown;
    // One poller per followed job, whether it is followed over gRPC, REST events or both.
    const jobWatch = createJobWatch({ training: services.training });
    const app = buildApp({
      config,
      logger,
      services,
      metrics,
      keys,
      jobWatch,
      shuttingDown: stopping,
    });
    await app.listen({ host: config.host, port: config.port });
    cleanups.push(() => app.close());
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;

    const grpcGuard = createGrpcGuard({
      auth: config.auth,
      keys,
      rateLimitPerMinute: config.rateLimitPerMinute,
      shuttingDown: stopping,
      overloaded: () => app.isUnderPressure(),
      retryAfterSeconds: config.overload.retryAfterSeconds,
      logger,
    });
    const grpc = createGrpcServer({
      config,
      logger,
      services,
      jobWatch,
      interceptors: [grpcGuard],
    });
    // Watches have ended by then (drain); unary calls are short, so gRPC needs little grace.
    cleanups.push(() => grpc.close(Math.min(config.shutdownGraceMs, 5_000)));
    const grpcAddress = await grpc.listen();

    if (runJobs) {
      await notifier.start();
      cleanups.push(() => notifier.stop());
      runner.start();
      cleanups.push(() => runner.stop(config.shutdownGraceMs));
    }

    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      grpcAddress,
      grpc,
      databaseUrl,
      services,
      runner,
      jobWatch,
      metrics,
      // Readiness turns false first, so load balancers stop sending work; then, in reverse
      // order of start: no new jobs claimed and running ones finished or released, gRPC then HTTP closed
      // after in-flight requests, the pool, the database, the embedded server.
      close() {
        shuttingDown = true;
        grpc.drain(); // health NOT_SERVING now, watch streams ended
        closing ??= cleanup();
        return closing;
      },
    };
  } catch (error) {
    await cleanup().catch((cleanupError: unknown) =>
      logger.error({ err: cleanupError }, "cleanup after a failed start failed"),
    );
    throw error;
  }
}
