/**
 * The job runner: claims training jobs from the queue while the pool has free threads, runs each
 * in a worker thread, and writes what happens back to the queue as it happens.
 *
 * For every job it claims, it ends the attempt one way or another (the queue's rule):
 *   - the engine finished          -> completeJob (weights and final metrics)
 *   - the user cancelled           -> markCancelled (the epochs reached stay)
 *   - we are shutting down         -> releaseJob, for another replica to start again
 *   - the engine refused or diverged (deterministic: retrying cannot help) -> failJob
 *   - anything else (a thread crashed, the database blipped) -> failJob with retry, so the job
 *     runs again while it has attempts left
 *   - the lease was lost (reclaimed after a stall, or the model deleted) -> stop, write nothing:
 *     someone else owns the job now.
 * If the process dies instead, the lease expires and reclaimExpired (run here by every replica)
 * requeues or fails the job.
 *
 * That final write is tried again, a few times over a few seconds, when it fails on a transient
 * database error (a connection reset, a server restart, a serialization failure): a finished
 * training's weights stay in memory meanwhile rather than being thrown away and trained again
 * once the lease expires. Each try is guarded by this attempt's lease (worker id and attempt
 * number), so a try repeated after one that did commit moves nothing; the runner then reads the
 * job to tell its own committed write from a lost lease. If every try fails, the job is left to
 * its lease, as if the process had died.
 */

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { EngineError, type EpochMetrics, TrainingDivergedError } from "../../engine/index.ts";
import type { Prisma, TrainingJob } from "../../generated/prisma/client.ts";
import type { WorkerPool } from "../../platform/threads/pool.ts";
import type { TrainOutcome, TrainTask } from "../../platform/threads/tasks.ts";
import { createEpochWriter } from "./epoch-writer.ts";
import { type ClaimedJob, isTransientDatabaseError, type JobQueue } from "./job-queue.ts";

export interface JobRunnerOptions {
  queue: JobQueue;
  pool: WorkerPool;
  /** Reads what the worker needs (network, settings, examples) for a claimed job. */
  loadTask(job: TrainingJob): Promise<Omit<TrainTask, "port">>;
  logger: Logger;
  leaseMs: number;
  /** How often the lease is renewed (well under leaseMs) and cancellation looked for. */
  heartbeatMs: number;
  /** How often to look for due jobs when no NOTIFY arrives (the source of truth). */
  pollMs: number;
  /** Delay before a job that failed for an unexpected reason runs again. */
  retryDelayMs?: number;
  workerId?: string;
  /**
   * Scores the trained weights on the job's held-back test rows, or null when it has none. Run
   * as part of the final write (and again with it after a transient database error), so the
   * evaluation is stored in the statement that completes the job or not at all.
   */
  evaluate?(job: TrainingJob, weights: Uint8Array): Promise<Prisma.InputJsonValue | null>;
  /** Told after each job this runner finished (tests and metrics). */
  onJobEnd?(job: TrainingJob, outcome: JobEnd): void;
  /** Told once per finished epoch, with the training rows it went over (metrics). */
  onEpochEnd?(jobId: string, metrics: EpochMetrics, samples: number): void;
  /**
   * The pauses before each new try of a job's final write that failed on a transient database
   * error (one more try per entry). Default: 250, 1000 and 2500 ms, four tries in under 4 s.
   */
  finalWriteRetryDelaysMs?: readonly number[];
}

export type JobEnd = "succeeded" | "failed" | "retried" | "cancelled" | "released" | "lost";

export interface JobRunner {
  readonly workerId: string;
  /** Jobs running in this process now. */
  readonly running: number;
  start(): void;
  /** Looks for work now (a NOTIFY arrived). */
  wake(): void;
  /**
   * Claims nothing more; waits up to graceMs for running jobs to finish, then stops them
   * between batches and releases them back to the queue.
   */
  stop(graceMs: number): Promise<void>;
}

interface Active {
  done: Promise<void>;
  cancel(): void;
}

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { queue, pool, loadTask, leaseMs, heartbeatMs, pollMs, retryDelayMs = 1_000 } = options;
  const finalWriteRetryDelaysMs = options.finalWriteRetryDelaysMs ?? [250, 1_000, 2_500];
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const log = options.logger.child({ component: "job-runner", workerId });
  const active = new Map<string, Active>();
  let stopping = false;
  let filling: Promise<void> | undefined;
  let again = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let reclaimTimer: NodeJS.Timeout | undefined;

  // One fill at a time; a wake during a fill makes it look once more rather than run twice.
  function wake(): void {
    if (stopping) return;
    if (filling) {
      again = true;
      return;
    }
    filling = fill()
      .catch((error: unknown) => log.error({ err: error }, "claiming jobs failed"))
      .finally(() => {
        filling = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  }

  async function fill(): Promise<void> {
    while (!stopping && active.size < pool.trainingThreads) {
      const job = await queue.claimJob({ workerId, leaseMs });
      if (!job) return;
      if (stopping) {
        // Claimed while stop() began: hand it straight back rather than train it for the grace.
        await queue.releaseJob(job.id, workerId);
        return;
      }
      startJob(job);
    }
  }

  async function reclaim(): Promise<void> {
    try {
      const reclaimed = await queue.reclaimExpired();
      for (const job of reclaimed) {
        // Warn, not info: a lease expires when its worker died or stalled.
        log.warn(
          {
            jobId: job.id,
            attempt: job.attempts,
            model: job.model,
            version: job.modelVersion,
            previousWorker: job.previousWorker,
            status: job.status,
          },
          "job lease expired; reclaimed",
        );
      }
      if (reclaimed.some((job) => job.status === "queued")) wake();
    } catch (error) {
      log.error({ err: error }, "reclaiming expired leases failed");
    }
  }

  function startJob(job: ClaimedJob): void {
    // Every line about the job names it, its attempt, its model and version; workerId (the
    // process: host:pid:id) comes with the runner's logger.
    const jobLog = log.child({
      jobId: job.id,
      attempt: job.attempts,
      model: job.model,
      version: job.modelVersion,
    });
    jobLog.info({ maxAttempts: job.maxAttempts }, "job claimed");
    let cancelTraining = () => {};
    let stopReason: "cancel" | "shutdown" | "lost" | undefined;
    const stopWith = (reason: "cancel" | "shutdown" | "lost") => {
      stopReason ??= reason;
      cancelTraining();
    };
    const done = runJob(job, jobLog, {
      setCancel: (cancel) => {
        cancelTraining = cancel;
        if (stopReason) cancel();
      },
      stopWith,
      stopReason: () => stopReason,
    })
      .then((end) => {
        // One line per way out: job succeeded, failed, retried, cancelled, released or lost.
        if (end === "lost") jobLog.warn({ end }, "job lost");
        else jobLog.info({ end }, `job ${end}`);
        options.onJobEnd?.(job, end);
      })
      .catch((error: unknown) => {
        // The job stays running under our lease until it expires; reclaimExpired settles it.
        jobLog.error({ err: error }, "ending the job failed");
        options.onJobEnd?.(job, "lost");
      })
      .finally(() => {
        active.delete(job.id);
        wake();
      });
    active.set(job.id, { done, cancel: () => stopWith("shutdown") });
  }

  interface Control {
    setCancel(cancel: () => void): void;
    stopWith(reason: "cancel" | "shutdown" | "lost"): void;
    stopReason(): "cancel" | "shutdown" | "lost" | undefined;
  }

  async function runJob(job: TrainingJob, jobLog: Logger, control: Control): Promise<JobEnd> {
    jobLog.info({ epochs: job.epochs }, "job started");
    let counted = 0;
    let samples = 0;
    // Once the user cancels, the backlog is dropped, so the job stops at the epoch it shows
    // rather than after writing out a training that had already run to its end in the thread.
    const epochs = createEpochWriter<EpochMetrics>({
      write: (batch) => queue.recordEpochs(job.id, workerId, batch.map(toStoredEpoch)),
      shouldStop: () => {
        const stop = control.stopReason();
        return stop === "lost" || stop === "cancel";
      },
      onLost: () => control.stopWith("lost"),
      onError: (error) => jobLog.warn({ err: error }, "epoch write failed"),
    });
    const record = (metrics: EpochMetrics) => {
      if (metrics.epoch > counted) {
        counted = metrics.epoch;
        options.onEpochEnd?.(job.id, metrics, samples);
      }
      epochs.add(metrics);
    };

    // One beat at a time: against a slow database, beats would otherwise pile up on the pool.
    let beating = false;
    const heartbeat = setInterval(async () => {
      if (beating) return;
      beating = true;
      try {
        const beat = await queue.heartbeat(job.id, workerId, leaseMs);
        if (!beat.owned) control.stopWith("lost");
        else if (beat.cancelRequested) control.stopWith("cancel");
      } catch (error) {
        // The lease outlives a few missed beats; reclaimExpired settles a longer outage.
        jobLog.warn({ err: error }, "heartbeat failed");
      } finally {
        beating = false;
      }
    }, heartbeatMs);

    try {
      return await trainAndEnd();
    } finally {
      // The lease is renewed until the attempt has ended, final write and its retries included.
      clearInterval(heartbeat);
    }

    async function trainAndEnd(): Promise<JobEnd> {
      const attempt = job.attempts;
      const ours = (j: TrainingJob) => j.leaseOwner === workerId && j.attempts === attempt;
      let outcome: TrainOutcome;
      try {
        const task = await loadTask(job);
        samples = task.data.rows - Math.round(task.data.rows * task.settings.validationSplit);
        const training = pool.train(task, { onEpoch: record });
        control.setCancel(training.cancel);
        outcome = await training.result;
        // The result can overtake the last epoch messages: record whatever has not been yet.
        for (const metrics of outcome.history) record(metrics);
        await epochs.drain();
      } catch (error) {
        await epochs.drain();
        if (control.stopReason() === "lost") return "lost";
        const deterministic =
          error instanceof EngineError || error instanceof TrainingDivergedError;
        const reason = error instanceof Error ? error.message : String(error);
        jobLog.warn({ err: error, deterministic }, "training raised an error");
        return endWith(
          job.id,
          jobLog,
          "failJob",
          async () => {
            const status = await queue.failJob(job.id, workerId, reason, {
              retry: !deterministic,
              retryDelayMs,
              attempt,
            });
            if (status === null) return "lost";
            return status === "queued" ? "retried" : "failed";
          },
          // failJob keeps the owner of a failed job and clears it from a requeued one.
          (j) => {
            if (j.attempts !== attempt || j.error !== reason) return undefined;
            if (j.status === "failed" && j.leaseOwner === workerId) return "failed";
            if (j.status === "queued" && j.leaseOwner === null) return "retried";
            return undefined;
          },
        );
      }

      const reason = control.stopReason();
      if (reason === "lost") return "lost";
      // A cancel seen before the job completed wins, even when the thread had already finished.
      if (reason === "cancel") {
        return endWith(
          job.id,
          jobLog,
          "markCancelled",
          async () =>
            (await queue.markCancelled(job.id, workerId, attempt)) ? "cancelled" : "lost",
          (j) => (j.status === "cancelled" && ours(j) ? "cancelled" : undefined),
        );
      }
      if (outcome.cancelled) {
        return endWith(
          job.id,
          jobLog,
          "releaseJob",
          async () =>
            (await queue.releaseJob(job.id, workerId, attempt)) === null ? "lost" : "released",
          // Released: queued with the attempt given back, or cancelled when that was asked.
          (j) =>
            (j.status === "queued" && j.leaseOwner === null && j.attempts === attempt - 1) ||
            (j.status === "cancelled" && ours(j))
              ? "released"
              : undefined,
        );
      }
      const final = finalMetrics(outcome);
      let evaluation: Prisma.InputJsonValue | null | undefined;
      return endWith(
        job.id,
        jobLog,
        "completeJob",
        async () => {
          evaluation ??= (await options.evaluate?.(job, outcome.weights)) ?? null;
          return (await queue.completeJob(job.id, workerId, {
            weights: outcome.weights,
            metrics: final,
            attempt,
            evaluation,
            optimizerState: outcome.optimizerState ?? null,
          }))
            ? "succeeded"
            : "lost";
        },
        (j) => (j.status === "succeeded" && ours(j) ? "succeeded" : undefined),
      );
    }
  }

  /**
   * Runs a job's final write, and runs it again after a transient database error, up to
   * finalWriteRetryDelaysMs. A write that reports the job lost after an earlier try failed may
   * only have missed its own earlier success (the reply was lost, the commit was not): then
   * `landed` reads the job and names the end our write gave it, or undefined for a lost lease.
   * Any other error, or the last transient one, is thrown: the job is left to its lease.
   */
  async function endWith(
    jobId: string,
    jobLog: Logger,
    write: string,
    run: () => Promise<JobEnd>,
    landed: (job: TrainingJob) => JobEnd | undefined,
  ): Promise<JobEnd> {
    let failed = false;
    for (let tries = 1; ; tries++) {
      try {
        const end = await run();
        if (end !== "lost" || !failed) return end;
        const job = await queue.getJob(jobId);
        const ended = job ? landed(job) : undefined;
        if (ended) jobLog.info({ write, tries }, "an earlier try of the final write had landed");
        return ended ?? "lost";
      } catch (error) {
        const delay = finalWriteRetryDelaysMs[tries - 1];
        if (!isTransientDatabaseError(error)) throw error;
        if (delay === undefined) {
          jobLog.error(
            { err: error, write, tries },
            "final write failed on every try; the job is left to its lease",
          );
          throw error;
        }
        jobLog.warn(
          { err: error, write, tries, retryInMs: delay },
          "final write failed on a transient database error; trying again",
        );
        failed = true;
        await sleep(delay);
      }
    }
  }

  return {
    workerId,
    get running() {
      return active.size;
    },
    start() {
      log.info({ threads: pool.trainingThreads, leaseMs, pollMs }, "job runner started");
      pollTimer = setInterval(wake, pollMs);
      reclaimTimer = setInterval(reclaim, Math.max(100, Math.floor(leaseMs / 2)));
      void reclaim();
      wake();
    },
    wake,
    async stop(graceMs) {
      stopping = true;
      clearInterval(pollTimer);
      clearInterval(reclaimTimer);
      await filling;
      const all = () => Promise.all([...active.values()].map((a) => a.done));
      if (active.size > 0) {
        log.info({ running: active.size, graceMs }, "waiting for running jobs");
        const timeout = new Promise<"timeout">((resolve) =>
          setTimeout(resolve, graceMs, "timeout").unref(),
        );
        if ((await Promise.race([all(), timeout])) === "timeout") {
          log.warn({ running: active.size }, "grace period over; releasing running jobs");
          for (const a of active.values()) a.cancel();
        }
      }
      await all();
      log.info("job runner stopped");
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Non-finite numbers have no JSON form: they are stored as null ("the training diverged"). */
const finiteOrNull = (value: number | undefined) =>
  value === undefined ? undefined : Number.isFinite(value) ? value : null;

function toStoredEpoch(m: EpochMetrics) {
  return {
    epoch: m.epoch,
    loss: m.loss,
    valLoss: m.valLoss ?? null,
    accuracy: m.accuracy ?? null,
    valAccuracy: m.valAccuracy ?? null,
    mae: m.mae ?? null,
    valMae: m.valMae ?? null,
    learningRate: m.learningRate,
    durationMs: m.durationMs,
  };
}

/** The version keeps the metrics of the weights it keeps: the best epoch's when restored. */
function finalMetrics(outcome: TrainOutcome) {
  const epoch = outcome.history[outcome.weightsEpoch - 1];
  if (!epoch) return {};
  return {
    epoch: epoch.epoch,
    // How the run ended, read by the job and version views (best-epoch reporting). Numbers
    // only, as the metrics of a model file are: a succeeded run stopped early when it ran
    // fewer epochs than it was asked for.
    epochsRun: outcome.epochsRun,
    ...(outcome.bestEpoch === undefined ? {} : { bestEpoch: outcome.bestEpoch }),
    loss: finiteOrNull(epoch.loss),
    valLoss: finiteOrNull(epoch.valLoss),
    accuracy: finiteOrNull(epoch.accuracy),
    valAccuracy: finiteOrNull(epoch.valAccuracy),
    mae: finiteOrNull(epoch.mae),
    valMae: finiteOrNull(epoch.valMae),
  };
}
