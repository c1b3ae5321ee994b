/**
 * One attempt at a claimed job: the lease's heartbeat, the time budget, the training in a worker
 * thread, its epochs written as they come, and the final write. Its state is on the object: why
 * it is stopping (`stopReason`), the epochs counted, whether a heartbeat is in flight.
 *
 * It ends the attempt one way or another (the queue's rule):
 *   - the engine finished          -> completeJob (weights, final metrics, evaluation)
 *   - the user cancelled           -> markCancelled (the epochs reached stay)
 *   - the time budget ran out      -> failJob, not retried (another try would run out too)
 *   - we are shutting down         -> releaseJob, for another replica to start again
 *   - the engine refused or diverged (deterministic: retrying cannot help) -> failJob
 *   - anything else (a thread crashed, the database blipped) -> failJob with retry, so the job
 *     runs again while it has attempts left
 *   - the lease was lost (reclaimed after a stall, or the model deleted) -> stop, write nothing:
 *     someone else owns the job now.
 */
import type { Logger } from "pino";
import { EngineError, type EpochMetrics, TrainingDivergedError } from "../../engine/index.ts";
import type { Prisma, TrainingJob } from "../../generated/prisma/client.ts";
import type { WorkerPool } from "../../platform/threads/pool.ts";
import type { TrainOutcome, TrainTask } from "../../platform/threads/tasks.ts";
import { createEpochWriter, type EpochWriter } from "./epoch-writer.ts";
import { endWith, type FinalWrite, type JobEnd } from "./final-write.ts";
import type { ClaimedJob, JobQueue } from "./job-queue.ts";

export type StopReason = "cancel" | "shutdown" | "lost" | "timeBudget";

/** What every attempt of one runner shares. */
export interface AttemptContext {
  queue: JobQueue;
  pool: WorkerPool;
  loadTask(job: TrainingJob): Promise<Omit<TrainTask, "port">>;
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  retryDelayMs: number;
  finalWriteRetryDelaysMs: readonly number[];
  evaluate?(job: TrainingJob, weights: Uint8Array): Promise<Prisma.InputJsonValue | null>;
  onEpochEnd?(jobId: string, metrics: EpochMetrics, samples: number): void;
}

export function timeBudgetExceeded(seconds: number): string {
  return `the job ran past its time budget of ${seconds} s (training.timeBudgetSeconds; at most JOB_MAX_SECONDS)`;
}

export class JobAttempt {
  readonly job: ClaimedJob;
  readonly log: Logger;
  /** Why the attempt is stopping; the first reason wins. */
  stopReason: StopReason | undefined;
  private readonly ctx: AttemptContext;
  private readonly attempt: number;
  private readonly epochs: EpochWriter<EpochMetrics>;
  private cancelTraining: () => void = () => {};
  /** The last epoch passed to onEpochEnd. */
  private counted = 0;
  /** Training rows per epoch (without the validation rows), for onEpochEnd. */
  private samples = 0;
  /** One beat at a time: against a slow database, beats would otherwise pile up on the pool. */
  private beating = false;

  constructor(job: ClaimedJob, ctx: AttemptContext, log: Logger) {
    this.job = job;
    this.ctx = ctx;
    this.log = log;
    this.attempt = job.attempts;
    // Once the user cancels, the backlog is dropped, so the job stops at the epoch it shows
    // rather than after writing out a training that had already run to its end in the thread.
    this.epochs = createEpochWriter<EpochMetrics>({
      write: (batch) => ctx.queue.recordEpochs(job.id, ctx.workerId, batch.map(toStoredEpoch)),
      shouldStop: () => this.stopReason === "lost" || this.stopReason === "cancel",
      onLost: () => this.stop("lost"),
      onError: (error) => log.warn({ err: error }, "epoch write failed"),
    });
  }

  /** Stops the training between batches; what is written at the end depends on the reason. */
  stop(reason: StopReason): void {
    this.stopReason ??= reason;
    this.cancelTraining();
  }

  async run(): Promise<JobEnd> {
    this.log.info(
      { epochs: this.job.epochs, timeBudgetSeconds: this.job.timeBudgetSeconds },
      "job started",
    );
    const heartbeat = setInterval(() => void this.beat(), this.ctx.heartbeatMs);
    const budget = this.job.timeBudgetSeconds;
    const budgetTimer =
      budget === null ? undefined : setTimeout(() => this.stop("timeBudget"), budget * 1000);
    try {
      return await this.trainAndEnd();
    } finally {
      // The lease is renewed until the attempt has ended, final write and its retries included.
      clearInterval(heartbeat);
      clearTimeout(budgetTimer);
    }
  }

  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      const beat = await this.ctx.queue.heartbeat(this.job.id, this.ctx.workerId, this.ctx.leaseMs);
      if (!beat.owned) this.stop("lost");
      else if (beat.cancelRequested) this.stop("cancel");
    } catch (error) {
      // The lease outlives a few missed beats; reclaimExpired settles a longer outage.
      this.log.warn({ err: error }, "heartbeat failed");
    } finally {
      this.beating = false;
    }
  }

  private record = (metrics: EpochMetrics): void => {
    if (metrics.epoch > this.counted) {
      this.counted = metrics.epoch;
      this.ctx.onEpochEnd?.(this.job.id, metrics, this.samples);
    }
    this.epochs.add(metrics);
  };

  private async train(): Promise<TrainOutcome> {
    const task = await this.ctx.loadTask(this.job);
    this.samples = task.data.rows - Math.round(task.data.rows * task.settings.validationSplit);
    const training = this.ctx.pool.train(task, { onEpoch: this.record });
    this.cancelTraining = training.cancel;
    if (this.stopReason) training.cancel();
    const outcome = await training.result;
    // The result can overtake the last epoch messages: record whatever has not been yet.
    for (const metrics of outcome.history) this.record(metrics);
    return outcome;
  }

  private async trainAndEnd(): Promise<JobEnd> {
    let outcome: TrainOutcome;
    try {
      outcome = await this.train();
      await this.epochs.drain();
    } catch (error) {
      await this.epochs.drain();
      if (this.stopReason === "lost") return "lost";
      const deterministic = error instanceof EngineError || error instanceof TrainingDivergedError;
      this.log.warn({ err: error, deterministic }, "training raised an error");
      return this.end(
        this.fail(error instanceof Error ? error.message : String(error), !deterministic),
      );
    }
    const reason = this.stopReason;
    if (reason === "lost") return "lost";
    // A cancel seen before the job completed wins, even when the thread had already finished.
    if (reason === "cancel") return this.end(this.cancelled());
    if (outcome.cancelled && reason === "timeBudget") {
      return this.end(this.fail(timeBudgetExceeded(this.job.timeBudgetSeconds ?? 0), false));
    }
    if (outcome.cancelled) return this.end(this.released());
    return this.end(this.completed(outcome));
  }

  private end(write: FinalWrite): Promise<JobEnd> {
    return endWith(this.ctx.queue, this.job.id, this.log, this.ctx.finalWriteRetryDelaysMs, write);
  }

  /** Ours: the job as read back still names this worker and this attempt. */
  private ours = (j: TrainingJob) =>
    j.leaseOwner === this.ctx.workerId && j.attempts === this.attempt;

  private fail(reason: string, retry: boolean): FinalWrite {
    const { queue, workerId, retryDelayMs } = this.ctx;
    return {
      write: "failJob",
      run: async () => {
        const status = await queue.failJob(this.job.id, workerId, reason, {
          retry,
          retryDelayMs,
          attempt: this.attempt,
        });
        if (status === null) return "lost";
        return status === "queued" ? "retried" : "failed";
      },
      // failJob keeps the owner of a failed job and clears it from a requeued one.
      landed: (j) => {
        if (j.attempts !== this.attempt || j.error !== reason) return undefined;
        if (j.status === "failed" && j.leaseOwner === workerId) return "failed";
        if (j.status === "queued" && j.leaseOwner === null) return "retried";
        return undefined;
      },
    };
  }

  private cancelled(): FinalWrite {
    return {
      write: "markCancelled",
      run: async () =>
        (await this.ctx.queue.markCancelled(this.job.id, this.ctx.workerId, this.attempt))
          ? "cancelled"
          : "lost",
      landed: (j) => (j.status === "cancelled" && this.ours(j) ? "cancelled" : undefined),
    };
  }

  private released(): FinalWrite {
    return {
      write: "releaseJob",
      run: async () =>
        (await this.ctx.queue.releaseJob(this.job.id, this.ctx.workerId, this.attempt)) === null
          ? "lost"
          : "released",
      // Released: queued with the attempt given back, or cancelled when that was asked.
      landed: (j) =>
        (j.status === "queued" && j.leaseOwner === null && j.attempts === this.attempt - 1) ||
        (j.status === "cancelled" && this.ours(j))
          ? "released"
          : undefined,
    };
  }

  private completed(outcome: TrainOutcome): FinalWrite {
    const final = finalMetrics(outcome);
    // Computed once, however often the write is tried.
    let evaluation: Prisma.InputJsonValue | null | undefined;
    return {
      write: "completeJob",
      run: async () => {
        evaluation ??= (await this.ctx.evaluate?.(this.job, outcome.weights)) ?? null;
        return (await this.ctx.queue.completeJob(this.job.id, this.ctx.workerId, {
          weights: outcome.weights,
          metrics: final,
          attempt: this.attempt,
          evaluation,
          optimizerState: outcome.optimizerState ?? null,
        }))
          ? "succeeded"
          : "lost";
      },
      landed: (j) => (j.status === "succeeded" && this.ours(j) ? "succeeded" : undefined),
    };
  }
}

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
