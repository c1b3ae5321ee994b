/**
 * The composition root as a function: config -> database -> queue, pool, services -> HTTP ->
 * job runner, and the one ordered shutdown of all of it. main.ts adds only process concerns
 * (signals, exit codes); tests start whole servers in-process with it.
 */

import type { Registry } from "prom-client";
import { createKeyStore } from "./auth/key-store.ts";
import { createDatasetService } from "./datasets/service.ts";
import { defaultKernelBackend, nativeStatus } from "./engine/index.ts";
import type { Config } from "./platform/config.ts";
import { createDatabase, type Database } from "./platform/db/client.ts";
import { startEmbeddedPostgres } from "./platform/db/embedded.ts";
import { isUpToDate, migrate } from "./platform/db/migrator.ts";
import { DomainEvents } from "./platform/events.ts";
import type { Logger } from "./platform/logger.ts";
import { createLifecycleMetrics, createMetrics, type Metrics } from "./platform/metrics.ts";
import { NNSERVE_VERSION } from "./platform/package-version.ts";
import { createReadiness } from "./platform/readiness.ts";
import { createWorkerPool, type WorkerPool } from "./platform/threads/pool.ts";
import { BatchRunner } from "./prediction/batch/runner.ts";
import { createBatchScoringService } from "./prediction/batch/service.ts";
import { DriftRecorder } from "./prediction/drift/recorder.ts";
import { createDriftService, registerDriftGauge } from "./prediction/drift/service.ts";
import { createExplainService } from "./prediction/explain/service.ts";
import { PredictionLog } from "./prediction/feedback/log.ts";
import { createFeedbackService } from "./prediction/feedback/service.ts";
import { ModelCache } from "./prediction/model-cache.ts";
import { observePredictions } from "./prediction/observed-service.ts";
import { Resolver } from "./prediction/resolver.ts";
import { createPredictionService } from "./prediction/service.ts";
import { createTablePredictionService } from "./prediction/tabular/service.ts";
import { createTrafficService } from "./prediction/traffic/service.ts";
import { evaluateTestSplit } from "./training/evaluation.ts";
import { jobCountsFrom } from "./training/jobs/job-counts.ts";
import { createJobQueue, type JobQueue } from "./training/jobs/job-queue.ts";
import { createJobNotifier } from "./training/jobs/notifier.ts";
import { createJobRunner, type JobRunner } from "./training/jobs/runner.ts";
import { loadTrainingTask } from "./training/jobs/training-task.ts";
import { createTrainingService } from "./training/service.ts";
import { StudyConductor } from "./training/studies/conductor.ts";
import { studiesChannel } from "./training/studies/events.ts";
import { createStudyService } from "./training/studies/service.ts";
import { StudySignals } from "./training/studies/signals.ts";
import { createJobWatch, type JobWatch } from "./training/watch.ts";
import { createGrpcGuard } from "./transport/grpc/auth-guard.ts";
import { createGrpcServer, type GrpcServer } from "./transport/grpc/server.ts";
import { buildApp } from "./transport/http/app.ts";
import type { Services } from "./transport/services.ts";
import { createAliasService } from "./versions/aliases/service.ts";
import { createModelFileService } from "./versions/model-files.ts";
import { createModelRegistry } from "./versions/registry.ts";

export interface Nnserve {
  /** Base URL of the REST API, e.g. http://127.0.0.1:3000. */
  url: string;
  /** Where gRPC clients dial, e.g. 127.0.0.1:50051. */
  grpcAddress: string;
  grpc: GrpcServer;
  databaseUrl: string;
  services: Services;
  runner: JobRunner;
  /** Runs the studies forward (started with the job runner). */
  studyConductor: StudyConductor;
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

/** What the steps share: the cleanups (run in reverse on close) and the shutdown flags. */
interface Lifecycle {
  cleanups: (() => Promise<void>)[];
  shuttingDown: boolean;
  poolUp: boolean;
}

export async function startNnserve({
  config,
  logger,
  runJobs = true,
  clusterMetrics,
}: StartOptions): Promise<Nnserve> {
  const life: Lifecycle = { cleanups: [], shuttingDown: false, poolUp: false };
  const cleanup = async () => {
    for (const fn of life.cleanups.reverse()) await fn();
  };
  try {
    const { db, databaseUrl } = await startStorage(config, logger, life);
    const { pool, predictionThreads, engineBackend } = startThreads(config, logger, life);
    const metrics = createInstanceMetrics(config, db, pool, predictionThreads, clusterMetrics, {
      engineBackend,
    });
    const { services, events, queue, cache, prediction, studySignals } = createServices(
      config,
      logger,
      life,
      {
        db,
        pool,
        metrics,
        engineBackend,
      },
    );
    const batchRunner = addOperateServices(config, logger, life, db, metrics, {
      services,
      events,
      cache,
      prediction,
    });
    const studyConductor = new StudyConductor({
      prisma: db.prisma,
      training: services.training,
      logger,
      tickMs: config.studies.tickMs,
      onRoutingChanged: (model) => events.emit("routingChanged", { model }),
    });
    const runner = createRunner(config, logger, {
      db,
      pool,
      queue,
      events,
      metrics,
      onJobEnd: () => studyConductor.wake(),
    });
    const notifier = createJobNotifier({ url: databaseUrl, logger, onNotify: () => runner.wake() });
    // Every replica listens, so followers of a study's events wake here whoever decided.
    const studyNotifier = createJobNotifier({
      url: databaseUrl,
      logger,
      channel: studiesChannel,
      onNotify: (studyId) => {
        studySignals.notify(studyId);
        studyConductor.wake(studyId);
      },
    });
    await studyNotifier.start();
    life.cleanups.push(() => studyNotifier.stop());
    // One poller per followed job, whether it is followed over gRPC, REST events or both.
    const jobWatch = createJobWatch({ training: services.training });
    const transports = await startTransports(config, logger, life, db, services, metrics, jobWatch);

    if (runJobs) {
      await notifier.start();
      life.cleanups.push(() => notifier.stop());
      runner.start();
      life.cleanups.push(() => runner.stop(config.shutdownGraceMs));
      batchRunner.start();
      life.cleanups.push(() => batchRunner.stop());
      // Stopped before the runner: no decision is left half-way while the pool closes.
      studyConductor.start();
      life.cleanups.push(() => studyConductor.stop());
    }

    let closing: Promise<void> | undefined;
    return {
      ...transports,
      databaseUrl,
      services,
      runner,
      studyConductor,
      jobWatch,
      metrics,
      // Readiness turns false first, so load balancers stop sending work; then, in reverse
      // order of start: no new jobs claimed and running ones finished or released, gRPC then HTTP closed
      // after in-flight requests, the pool, the database, the embedded server.
      close() {
        life.shuttingDown = true;
        transports.grpc.drain(); // health NOT_SERVING now, watch streams ended
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

/** Postgres (embedded when DATABASE_URL is unset), migrated. */
async function startStorage(config: Config, logger: Logger, life: Lifecycle) {
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    const embedded = await startEmbeddedPostgres({ logger });
    life.cleanups.push(embedded.stop);
    databaseUrl = embedded.url;
    logger.info("DATABASE_URL is unset: using an embedded Postgres");
  }
  const db = createDatabase({ url: databaseUrl, logger, poolSize: 10 + config.workers * 2 });
  life.cleanups.push(db.close);
  await migrate({ pool: db.pool, logger });
  return { db, databaseUrl };
}

/** The worker threads: training and prediction pools. */
function startThreads(config: Config, logger: Logger, life: Lifecycle) {
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
  life.poolUp = true;
  life.cleanups.push(async () => {
    life.poolUp = false;
    await pool.close();
  });
  return { pool, predictionThreads, engineBackend };
}

/** This instance's Prometheus series (none with METRICS=false), joined to a cluster's. */
function createInstanceMetrics(
  config: Config,
  db: Database,
  pool: WorkerPool,
  predictionThreads: number,
  clusterMetrics: ClusterMetrics | undefined,
  engine: { engineBackend: string },
): Metrics | undefined {
  if (!config.metrics) return undefined;
  const metrics = createMetrics({
    jobCounts: jobCountsFrom(db.pool),
    pool,
    predictionThreads,
    engineBackend: engine.engineBackend,
  });
  if (!clusterMetrics) return metrics;
  clusterMetrics.join(metrics.registry);
  return { ...metrics, scrape: clusterMetrics.scrape };
}

/** The feature services the transports call, and the domain events between them. */
function createServices(
  config: Config,
  logger: Logger,
  life: Lifecycle,
  parts: { db: Database; pool: WorkerPool; metrics: Metrics | undefined; engineBackend: string },
) {
  const { db, pool, metrics, engineBackend } = parts;
  const queue = createJobQueue({ pool: db.pool });
  const cache = new ModelCache(config.modelCacheSize);
  const lifecycleMetrics = metrics ? createLifecycleMetrics(metrics.registry) : undefined;
  const prediction = createPredictionService({
    db,
    pool,
    cache,
    inlineMaxRows: config.limits.predictInlineMaxRows,
    inlineMaxWork: config.predictInlineMaxWork,
    resolver: new Resolver({ prisma: db.prisma, ttlMs: config.predictResolveTtlMs }),
    batching: config.batching,
    observer: metrics ? { ...metrics.prediction, ...lifecycleMetrics } : undefined,
    onShadowError: (err) => logger.debug({ err }, "a shadow prediction failed"),
  });
  const events = new DomainEvents((event, err) =>
    logger.error({ err, event }, "a domain event listener failed"),
  );
  // A new ready version or a routing change: unversioned predictions here move at once.
  events.on("versionReady", () => prediction.forgetResolutions());
  events.on("routingChanged", ({ model }) => prediction.forgetResolutions(model));
  events.on("modelDeleted", ({ model }) => prediction.dropModel(model));
  const datasets = createDatasetService({ db });
  const training = createTrainingService({
    db,
    queue,
    datasets,
    maxParameters: config.limits.maxParameters,
    maxInputs: config.limits.maxUnits,
    maxEncodedValues: config.limits.maxEncodedValues,
    maxAttempts: config.jobs.maxAttempts,
    maxJobSeconds: config.limits.maxJobSeconds,
    maxQueuedJobsPerKey: config.maxQueuedJobsPerKey,
  });
  const studySignals = new StudySignals();
  const services: Services = {
    datasets,
    training,
    studies: createStudyService({
      db,
      datasets,
      training,
      limits: {
        maxParameters: config.limits.maxParameters,
        maxInputs: config.limits.maxUnits,
        maxEncodedValues: config.limits.maxEncodedValues,
      },
      maxQueuedJobsPerKey: config.maxQueuedJobsPerKey,
      signals: studySignals,
      followPollMs: config.studies.tickMs,
    }),
    prediction,
    models: createModelRegistry({ db, events }),
    aliases: createAliasService({ db, events }),
    traffic: createTrafficService({ db, events, figures: prediction.figures }),
    modelFiles: createModelFileService({
      db,
      maxParameters: config.limits.maxParameters,
      nnserveVersion: NNSERVE_VERSION,
      events,
    }),
    readiness: createReadiness({
      db,
      migrated: () => isUpToDate({ pool: db.pool }),
      poolUp: () => life.poolUp,
      shuttingDown: () => life.shuttingDown,
      engineBackend,
    }),
  };
  return { services, events, queue, cache, prediction, studySignals };
}

/**
 * Operating a model (docs/operate.md): batch scoring, explanations, drift and feedback. Live
 * inputs are counted for drift and predictions logged for feedback on a sample of the requests
 * the transports send (`services.prediction` becomes the observed service); batch scoring and
 * explanations use the plain one. Returns the batch runner, started with the job runner.
 */
function addOperateServices(
  config: Config,
  logger: Logger,
  life: Lifecycle,
  db: Database,
  metrics: Metrics | undefined,
  parts: {
    services: Services;
    events: DomainEvents;
    cache: ModelCache;
    prediction: ReturnType<typeof createPredictionService>;
  },
): BatchRunner {
  const { services, events, cache, prediction } = parts;
  const explain = createExplainService({ pool: db.pool, db, cache, prediction });
  const batchRunner = new BatchRunner({
    pool: db.pool,
    prediction,
    explain,
    logger,
    leaseMs: config.jobs.leaseMs,
    heartbeatMs: config.jobs.heartbeatMs,
    pollMs: config.jobs.pollMs,
  });
  services.batch = createBatchScoringService({
    pool: db.pool,
    chunkRows: config.scoring.chunkRows,
    maxAttempts: config.jobs.maxAttempts,
    onSubmitted: () => batchRunner.wake(),
  });
  services.explain = explain;
  const driftRecorder = new DriftRecorder({ pool: db.pool, logger, ...config.drift });
  const predictionLog = new PredictionLog({
    pool: db.pool,
    logger,
    flushMs: 1_000,
    retentionMs: config.predictionLog.retentionMs,
    maxPending: 10_000,
  });
  driftRecorder.start();
  predictionLog.start();
  life.cleanups.push(() => driftRecorder.stop());
  life.cleanups.push(() => predictionLog.stop());
  const observed = observePredictions(prediction, {
    pool: db.pool,
    onError: (err) =>
      logger.debug({ err }, "a sampled prediction was not counted for drift or logged"),
    drift: { recorder: driftRecorder, sampleRate: config.drift.sampleRate },
    ...(config.predictionLog.rate > 0
      ? { log: { log: predictionLog, rate: config.predictionLog.rate } }
      : {}),
  });
  events.on("modelDeleted", () => observed.forget());
  services.prediction = observed;
  services.tables = createTablePredictionService({ pool: db.pool, prediction: observed });
  services.drift = createDriftService({ pool: db.pool, recorder: driftRecorder });
  services.feedback = createFeedbackService({ pool: db.pool, log: predictionLog });
  if (metrics) registerDriftGauge(metrics.registry, db.pool, driftRecorder);
  return batchRunner;
}

/** The job runner: claims jobs, trains them on the pool, scores and writes them. */
function createRunner(
  config: Config,
  logger: Logger,
  {
    db,
    pool,
    queue,
    events,
    metrics,
    onJobEnd,
  }: {
    db: Database;
    pool: WorkerPool;
    queue: JobQueue;
    events: DomainEvents;
    metrics: Metrics | undefined;
    /** Told after every job this runner ended (the study conductor looks at its studies). */
    onJobEnd: () => void;
  },
): JobRunner {
  return createJobRunner({
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
    onJobEnd: (job, end) => {
      if (end === "succeeded") events.emit("versionReady", { versionId: job.versionId });
      metrics?.training.jobEnd(job.id, end);
      onJobEnd();
    },
  });
}

/** REST (fastify) and gRPC, listening, with API keys and the gRPC guard. */
async function startTransports(
  config: Config,
  logger: Logger,
  life: Lifecycle,
  db: Database,
  services: Services,
  metrics: Metrics | undefined,
  jobWatch: JobWatch,
) {
  const keys = createKeyStore({ db });
  if (!config.auth) {
    logger.warn(
      "AUTH=off: every route is open to anyone who can reach this server; local development only",
    );
  }
  const stopping = () => life.shuttingDown;
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
  life.cleanups.push(() => app.close());
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;

  const grpcGuard = createGrpcGuard({
    auth: config.auth,
    keys,
    rateLimitPerMinute: config.rateLimitPerMinute,
    authMaxFailuresPerMinute: config.authMaxFailuresPerMinute,
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
  life.cleanups.push(() => grpc.close(Math.min(config.shutdownGraceMs, 5_000)));
  const grpcAddress = await grpc.listen();
  return { url: `http://${host}:${port}`, grpcAddress, grpc };
}
