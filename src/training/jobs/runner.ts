/**
 * The job runner: a claim loop that takes training jobs from the queue while the pool has free
 * threads, and runs each as a JobAttempt (job-attempt.ts: heartbeat, time budget, training,
 * epochs, the final write). If the process dies instead, the lease expires and reclaimExpired
 * (run here by every replica) requeues or fails the job.
 *
 * Its state is on the object, as pg-boss's Worker keeps it: `state`, the attempts running, the
 * fill in progress (one at a time; a wake during a fill makes it look once more), `lastError`.
 */

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { EpochMetrics } from "../../engine/index.ts";
import type { Prisma, TrainingJob } from "../../generated/prisma/client.ts";
import { LogThrottle } from "../../platform/log-throttle.ts";
import type { WorkerPool } from "../../platform/threads/pool.ts";
import type { TrainTask } from "../../platform/threads/tasks.ts";
import type { JobEnd } from "./final-write.ts";
import { type AttemptContext, JobAttempt } from "./job-attempt.ts";
import type { ClaimedJob, JobQueue } from "./job-queue.ts";

export type { JobEnd } from "./final-write.ts";

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

export type RunnerState = "created" | "started" | "stopping" | "stopped";

export class JobRunner {
  readonly workerId: string;
  state: RunnerState = "created";
  /** The last error of a claim or a reclaim, for operators (also logged). */
  lastError: unknown;
  private readonly options: JobRunnerOptions;
  private readonly ctx: AttemptContext;
  private readonly log: Logger;
  /** Running attempts by job id, each with the promise that settles when it has ended. */
  private readonly active = new Map<string, { attempt: JobAttempt; done: Promise<void> }>();
  private filling: Promise<void> | undefined;
  private again = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private reclaimTimer: NodeJS.Timeout | undefined;
  private readonly throttle = new LogThrottle();

  constructor(options: JobRunnerOptions) {
    this.options = options;
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.log = options.logger.child({ component: "job-runner", workerId: this.workerId });
    this.ctx = {
      queue: options.queue,
      pool: options.pool,
      loadTask: options.loadTask,
      workerId: this.workerId,
      leaseMs: options.leaseMs,
      heartbeatMs: options.heartbeatMs,
      retryDelayMs: options.retryDelayMs ?? 1_000,
      finalWriteRetryDelaysMs: options.finalWriteRetryDelaysMs ?? [250, 1_000, 2_500],
      ...(options.evaluate ? { evaluate: options.evaluate } : {}),
      ...(options.onEpochEnd ? { onEpochEnd: options.onEpochEnd } : {}),
    };
  }

  private get stopping(): boolean {
    return this.state === "stopping" || this.state === "stopped";
  }

  /** Jobs running in this process now. */
  get running(): number {
    return this.active.size;
  }

  start(): void {
    const { leaseMs, pollMs, pool } = this.options;
    this.state = "started";
    this.log.info({ threads: pool.trainingThreads, leaseMs, pollMs }, "job runner started");
    this.pollTimer = setInterval(this.wake, pollMs);
    this.reclaimTimer = setInterval(
      () => void this.reclaim(),
      Math.max(100, Math.floor(leaseMs / 2)),
    );
    void this.reclaim();
    this.wake();
  }

  /** Looks for work now (a NOTIFY arrived). One fill at a time. */
  readonly wake = (): void => {
    if (this.stopping) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = this.fill()
      .catch((error: unknown) => {
        this.lastError = error;
        // Every poll fails alike during an outage: one line per 10 s.
        const admitted = this.throttle.admit("claim");
        if (admitted)
          this.log.error({ err: error, repeated: admitted.repeated }, "claiming jobs failed");
      })
      .finally(() => {
        this.filling = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  };

  /**
   * Claims nothing more; waits up to graceMs for running jobs to finish, then stops them
   * between batches and releases them back to the queue.
   */
  async stop(graceMs: number): Promise<void> {
    this.state = "stopping";
    clearInterval(this.pollTimer);
    clearInterval(this.reclaimTimer);
    await this.filling;
    const all = () => Promise.all([...this.active.values()].map((a) => a.done));
    if (this.active.size > 0) {
      this.log.info({ running: this.active.size, graceMs }, "waiting for running jobs");
      const timeout = new Promise<"timeout">((resolve) =>
        setTimeout(resolve, graceMs, "timeout").unref(),
      );
      if ((await Promise.race([all(), timeout])) === "timeout") {
        this.log.warn({ running: this.active.size }, "grace period over; releasing running jobs");
        for (const { attempt } of this.active.values()) attempt.stop("shutdown");
      }
    }
    await all();
    this.state = "stopped";
    this.log.info("job runner stopped");
  }

  private async fill(): Promise<void> {
    const { queue, pool, leaseMs } = this.options;
    while (!this.stopping && this.active.size < pool.trainingThreads) {
      const job = await queue.claimJob({ workerId: this.workerId, leaseMs });
      if (!job) return;
      if (this.stopping) {
        // Claimed while stop() began: hand it straight back rather than train it for the grace.
        await queue.releaseJob(job.id, this.workerId);
        return;
      }
      this.startAttempt(job);
    }
  }

  private async reclaim(): Promise<void> {
    try {
      const reclaimed = await this.options.queue.reclaimExpired();
      for (const job of reclaimed) {
        // Warn, not info: a lease expires when its worker died or stalled.
        this.log.warn(
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
      if (reclaimed.some((job) => job.status === "queued")) this.wake();
    } catch (error) {
      this.lastError = error;
      const admitted = this.throttle.admit("reclaim");
      if (admitted) {
        this.log.error(
          { err: error, repeated: admitted.repeated },
          "reclaiming expired leases failed",
        );
      }
    }
  }

  private startAttempt(job: ClaimedJob): void {
    // Every line about the job names it, its attempt, its model and version; workerId (the
    // process: host:pid:id) comes with the runner's logger.
    const jobLog = this.log.child({
      jobId: job.id,
      attempt: job.attempts,
      model: job.model,
      version: job.modelVersion,
    });
    jobLog.info({ maxAttempts: job.maxAttempts }, "job claimed");
    const attempt = new JobAttempt(job, this.ctx, jobLog);
    const done = attempt
      .run()
      .then((end) => {
        // One line per way out: job succeeded, failed, retried, cancelled, released or lost.
        if (end === "lost") jobLog.warn({ end }, "job lost");
        else jobLog.info({ end }, `job ${end}`);
        this.options.onJobEnd?.(job, end);
      })
      .catch((error: unknown) => {
        // The job stays running under our lease until it expires; reclaimExpired settles it.
        jobLog.error({ err: error }, "ending the job failed");
        this.options.onJobEnd?.(job, "lost");
      })
      .finally(() => {
        this.active.delete(job.id);
        this.wake();
      });
    this.active.set(job.id, { attempt, done });
  }
}

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  return new JobRunner(options);
}
