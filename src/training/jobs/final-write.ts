/**
 * A job's final write (complete, fail, cancel, release), tried again, a few times over a few
 * seconds, when it fails on a transient database error (a connection reset, a server restart,
 * a serialization failure): a finished training's weights stay in memory meanwhile rather than
 * being thrown away and trained again once the lease expires. Each try is guarded by this
 * attempt's lease (worker id and attempt number), so a try repeated after one that did commit
 * moves nothing; then `landed` reads the job to tell our own committed write from a lost lease.
 * If every try fails, the job is left to its lease, as if the process had died.
 */
import type { Logger } from "pino";
import type { TrainingJob } from "../../generated/prisma/client.ts";
import { isTransientDatabaseError, type JobQueue } from "./job-queue.ts";

export type JobEnd = "succeeded" | "failed" | "retried" | "cancelled" | "released" | "lost";

export interface FinalWrite {
  /** The queue move, for the logs: completeJob, failJob, markCancelled, releaseJob. */
  write: string;
  run(): Promise<JobEnd>;
  /** The end our write gave the job as read back, or undefined when the lease was lost. */
  landed(job: TrainingJob): JobEnd | undefined;
}

/**
 * Runs the write, and again after a transient database error, once per entry of retryDelaysMs.
 * Any other error, or the last transient one, is thrown: the job is left to its lease.
 */
export async function endWith(
  queue: Pick<JobQueue, "getJob">,
  jobId: string,
  log: Logger,
  retryDelaysMs: readonly number[],
  { write, run, landed }: FinalWrite,
): Promise<JobEnd> {
  let failed = false;
  for (let tries = 1; ; tries++) {
    try {
      const end = await run();
      if (end !== "lost" || !failed) return end;
      // Lost after a failed try: that try may have committed with only its reply lost.
      const job = await queue.getJob(jobId);
      const ended = job ? landed(job) : undefined;
      if (ended) log.info({ write, tries }, "an earlier try of the final write had landed");
      return ended ?? "lost";
    } catch (error) {
      const delay = retryDelaysMs[tries - 1];
      if (!isTransientDatabaseError(error)) throw error;
      if (delay === undefined) {
        log.error(
          { err: error, write, tries },
          "final write failed on every try; the job is left to its lease",
        );
        throw error;
      }
      log.warn(
        { err: error, write, tries, retryInMs: delay },
        "final write failed on a transient database error; trying again",
      );
      failed = true;
      await new Promise<void>((resolve) => setTimeout(resolve, delay));
    }
  }
}
