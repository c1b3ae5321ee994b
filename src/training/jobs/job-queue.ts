import type pg from "pg";
import type { JobStatus, Prisma, TrainingJob } from "../../generated/prisma/client.ts";
import { toStoredJsonText } from "../../platform/db/stored-json.ts";
import {
  CONNECTION_SQL_STATES,
  PG_CONNECTION_LOST_MESSAGE,
  SOCKET_ERROR_CODES,
} from "../../platform/db/unavailable.ts";
import * as sql from "./queue-sql.ts";

// The worker-facing side of the queue. What each call does to a job, and why, is written down
// once, in queue-sql.ts. Calls taking a workerId act only while that worker owns the job and
// report false/null when it does not (any more): the worker must then stop working on it.
//
// A runner built on it: wait for a notifier wake-up or a poll tick; claimJob until null; for
// each job, heartbeat every JOB_HEARTBEAT_MS (well under the lease) (stop when !owned, stop between batches and
// markCancelled when cancelRequested); recordEpochs as epochs end; then completeJob or
// failJob; on shutdown releaseJob whatever is still running. Call reclaimExpired every few
// seconds from every runner: it is safe to run concurrently.
//
// The final moves (completeJob, failJob, releaseJob, markCancelled) take the attempt number the
// claim returned: a move repeated after a transient error (isTransientDatabaseError) then
// cannot end a later attempt of the same job, and a move that already happened is a no-op.

/** One epoch's numbers, as stored in epoch_metrics. */
export type EpochMetrics = Omit<Prisma.EpochMetricCreateManyInput, "jobId" | "createdAt">;

export interface HeartbeatResult {
  /** False when the lease was lost (reclaimed, cancelled, deleted): stop at once. */
  owned: boolean;
  /** The user asked to cancel: stop between batches and call markCancelled. */
  cancelRequested: boolean;
}

export interface CompleteJobInput {
  /** Little-endian Float32 parameters (see src/platform/db/binary.ts). */
  weights: Uint8Array;
  /** Final metrics, kept on the model version (with the stored format version). */
  metrics: Prisma.InputJsonValue;
  /** Only in this attempt (the job's attempts as the claim returned it). Default: any. */
  attempt?: number;
  /** The held-back test split's scores, kept on the version (datasets only). */
  evaluation?: Prisma.InputJsonValue | null;
  /** The optimizer state to keep with the version (warm starts continue from it). */
  optimizerState?: Uint8Array | null;
}

export interface FailJobOptions {
  /** Queue the job again if it has attempts left (a transient failure). Default: fail it. */
  retry?: boolean;
  retryDelayMs?: number;
  /** Only in this attempt (the job's attempts as the claim returned it). Default: any. */
  attempt?: number;
}

export interface ReclaimedJob {
  id: string;
  /** Where the reclaim put it: queued again, failed out of attempts, or cancelled. */
  status: JobStatus;
  attempts: number;
  /** The worker whose lease expired. */
  previousWorker: string | null;
  model: string;
  modelVersion: number;
}

/** A claimed job, with what names it in logs: its model and version number. */
export type ClaimedJob = TrainingJob & { model: string; modelVersion: number };

export type CancelOutcome =
  | { outcome: "cancelled" }
  | { outcome: "cancelRequested" }
  | { outcome: "alreadyFinished"; status: JobStatus }
  | { outcome: "notFound" };

export interface JobQueue {
  /** The oldest due queued job, now running and leased to workerId; null when none is due. */
  claimJob(args: { workerId: string; leaseMs: number }): Promise<ClaimedJob | null>;
  /** Extends the lease while still owned; tells whether cancel was requested. */
  heartbeat(jobId: string, workerId: string, leaseMs: number): Promise<HeartbeatResult>;
  /** Stores the epoch's row and the job's progress; false when not owned. */
  recordEpoch(jobId: string, workerId: string, metrics: EpochMetrics): Promise<boolean>;
  /** Stores several epochs (in order) in one statement; false when not owned. */
  recordEpochs(jobId: string, workerId: string, epochs: EpochMetrics[]): Promise<boolean>;
  /** succeeded, with the version's weights and final metrics in the same statement. */
  completeJob(jobId: string, workerId: string, result: CompleteJobInput): Promise<boolean>;
  /** failed (or queued again, see FailJobOptions); null when not owned. */
  failJob(
    jobId: string,
    workerId: string,
    reason: string,
    options?: FailJobOptions,
  ): Promise<JobStatus | null>;
  /**
   * Back to queued for another worker (shutdown), without using up an attempt; null when not
   * owned (in `attempt`, when given).
   */
  releaseJob(jobId: string, workerId: string, attempt?: number): Promise<JobStatus | null>;
  /** cancelled, after the worker saw cancelRequested; its epoch metrics stay. */
  markCancelled(jobId: string, workerId: string, attempt?: number): Promise<boolean>;
  /** Ends or requeues every job whose lease expired; run it periodically. */
  reclaimExpired(): Promise<ReclaimedJob[]>;
  /** The API's cancel: at once when queued, requested when running, refused when finished. */
  cancelJob(jobId: string): Promise<CancelOutcome>;
  /** The job as it is now; null when there is none (deleted with its model). */
  getJob(jobId: string): Promise<TrainingJob | null>;
}

/** An object with the stored format version (src/platform/db/stored-json.ts); else as it is. */
function jsonColumnText(value: Prisma.InputJsonValue): string {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? toStoredJsonText(value)
    : JSON.stringify(value);
}

/** Anything that runs a parameterised query: a pg.Pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, "query">;

export function createJobQueue({ pool }: { pool: Queryable }): JobQueue {
  const rows = async <Row extends pg.QueryResultRow>(text: string, values: unknown[]) =>
    (await pool.query<Row>(text, values)).rows;

  const recordEpochs: JobQueue["recordEpochs"] = async (jobId, workerId, epochs) => {
    const latest = epochs.at(-1);
    if (!latest) return true;
    const found = await rows(sql.recordEpochs, [
      jobId,
      workerId,
      // A diverged epoch's NaN or Infinity is kept in its row: JSON has no such numbers, so
      // they travel as the strings Postgres' float8 input reads back ("NaN", "Infinity").
      JSON.stringify(epochs, (_key, value) =>
        typeof value === "number" && !Number.isFinite(value) ? String(value) : value,
      ),
      // The job's latest-metrics JSON shows them as null.
      toStoredJsonText(latest),
    ]);
    return found.length > 0;
  };

  return {
    async claimJob({ workerId, leaseMs }) {
      const [job] = await rows<ClaimedJob>(sql.claimJob, [workerId, leaseMs]);
      return job ?? null;
    },

    async heartbeat(jobId, workerId, leaseMs) {
      const [row] = await rows<{ cancelRequested: boolean }>(sql.heartbeat, [
        jobId,
        workerId,
        leaseMs,
      ]);
      return { owned: row !== undefined, cancelRequested: row?.cancelRequested ?? false };
    },

    recordEpoch: (jobId, workerId, metrics) => recordEpochs(jobId, workerId, [metrics]),
    recordEpochs,

    async completeJob(jobId, workerId, { weights, metrics, attempt, evaluation, optimizerState }) {
      const found = await rows(sql.completeJob, [
        jobId,
        workerId,
        Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength),
        jsonColumnText(metrics),
        attempt ?? null,
        evaluation === undefined || evaluation === null ? null : jsonColumnText(evaluation),
        optimizerState
          ? Buffer.from(optimizerState.buffer, optimizerState.byteOffset, optimizerState.byteLength)
          : null,
      ]);
      return found.length > 0;
    },

    async failJob(jobId, workerId, reason, { retry = false, retryDelayMs = 0, attempt } = {}) {
      const [row] = await rows<{ status: JobStatus }>(sql.failJob, [
        jobId,
        workerId,
        reason,
        retry,
        retryDelayMs,
        attempt ?? null,
      ]);
      return row?.status ?? null;
    },

    async releaseJob(jobId, workerId, attempt) {
      const [row] = await rows<{ status: JobStatus }>(sql.releaseJob, [
        jobId,
        workerId,
        attempt ?? null,
      ]);
      return row?.status ?? null;
    },

    async markCancelled(jobId, workerId, attempt) {
      return (await rows(sql.markCancelled, [jobId, workerId, attempt ?? null])).length > 0;
    },

    async reclaimExpired() {
      return rows<ReclaimedJob>(sql.reclaimExpired, []);
    },

    async cancelJob(jobId) {
      const [changed] = await rows<{ status: JobStatus }>(sql.cancelJob, [jobId]);
      if (changed) {
        return changed.status === "cancelled"
          ? { outcome: "cancelled" }
          : { outcome: "cancelRequested" };
      }
      // Not queued or running: finished for good (a terminal status never changes again).
      const [job] = await rows<{ status: JobStatus }>(sql.jobStatus, [jobId]);
      return job ? { outcome: "alreadyFinished", status: job.status } : { outcome: "notFound" };
    },

    async getJob(jobId) {
      const [job] = await rows<TrainingJob>(sql.getJob, [jobId]);
      return job ?? null;
    },
  };
}

// SQLSTATEs worth trying again: the statement did not happen for a reason that passes.
const transientSqlStates = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available
  ...CONNECTION_SQL_STATES,
]);

/**
 * True for a database error that says nothing about the statement itself: a lost or refused
 * connection (08xxx, sockets, a server restarting), a serialization failure or deadlock. Such a
 * statement may be tried again. Constraint violations, syntax errors and the like are not.
 * After a lost connection the statement may or may not have committed: the one tried again must
 * be idempotent (the final moves are, see above).
 */
export function isTransientDatabaseError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      if (transientSqlStates.has(code) || code.startsWith("08")) return true;
      if (SOCKET_ERROR_CODES.has(code)) return true;
    }
    if (PG_CONNECTION_LOST_MESSAGE.test(e.message)) return true;
    if (e instanceof AggregateError && e.errors.some(isTransientDatabaseError)) return true;
    e = e.cause;
  }
  return false;
}
