/**
 * A job's time budget on real Postgres, with a stand-in worker pool whose training runs until
 * it is cancelled: past training.timeBudgetSeconds the attempt is stopped and the job fails with
 * the budget named, without using up its other attempts (another would run out too).
 */
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { WorkerPool } from "../../../src/platform/threads/pool.ts";
import type { TrainOutcome } from "../../../src/platform/threads/tasks.ts";
import { createJobQueue, type JobQueue } from "../../../src/training/jobs/job-queue.ts";
import { createJobRunner, type JobEnd, type JobRunner } from "../../../src/training/jobs/runner.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { enqueueJob, tinyTask } from "./fixtures.ts";

let db: TestDatabase;
let queue: JobQueue;
let runner: JobRunner | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  queue = createJobQueue({ pool: db.pool });
});
afterAll(() => db.close());
afterEach(async () => {
  await runner?.stop(0);
  runner = undefined;
});

/** Every training runs until cancelled, then answers a cancelled outcome. */
function endlessPool(): { pool: WorkerPool; cancels: () => number } {
  let cancels = 0;
  const pool: WorkerPool = {
    trainingThreads: 1,
    busyTrainingThreads: 0,
    train() {
      let cancel = () => {};
      const result = new Promise<TrainOutcome>((resolve) => {
        cancel = () => {
          cancels++;
          resolve({
            weights: new Uint8Array(0),
            architecture: { inputs: 1, layers: [] } as unknown as TrainOutcome["architecture"],
            history: [],
            epochsRun: 0,
            stoppedEarly: false,
            weightsEpoch: 0,
            cancelled: true,
          });
        };
      });
      return { result, cancel: () => cancel() };
    },
    predict: () => Promise.reject(new Error("not in these tests")),
    trainingThreadNice: async () => 0,
    utilization: () => ({ training: 0, prediction: 0 }),
    close: async () => {},
  };
  return { pool, cancels: () => cancels };
}

describe("a job's time budget", () => {
  it("fails the job past its budget, naming it, without retrying", async () => {
    const { id, versionId } = await enqueueJob(db.prisma, { timeBudgetSeconds: 1, maxAttempts: 3 });
    const { pool, cancels } = endlessPool();
    const ended = new Promise<JobEnd>((resolve) => {
      runner = createJobRunner({
        queue,
        pool,
        loadTask: async (job) => tinyTask(job.id),
        logger: pino({ level: "silent" }),
        leaseMs: 60_000,
        heartbeatMs: 10_000,
        pollMs: 60_000,
        onJobEnd: (_job, end) => resolve(end),
      });
      runner.start();
    });
    expect(await ended).toBe("failed");
    expect(cancels()).toBe(1);
    const job = await db.prisma.trainingJob.findUniqueOrThrow({ where: { id } });
    expect(job).toMatchObject({ status: "failed", attempts: 1 });
    expect(job.error).toMatch(/ran past its time budget of 1 s .*JOB_MAX_SECONDS/);
    const version = await db.prisma.modelVersion.findUniqueOrThrow({ where: { id: versionId } });
    expect(version.status).toBe("failed");
  }, 60_000);
});
