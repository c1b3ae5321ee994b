/**
 * The job runner's final write on real Postgres, with a stand-in worker pool that counts its
 * trainings: a transient database error on that write is retried with the weights kept in
 * memory, never by training again, and a retry never applies the write twice.
 */
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EpochMetrics } from "../../../src/engine/index.ts";
import { float32ToBytes } from "../../../src/platform/db/binary.ts";
import type { WorkerPool } from "../../../src/platform/threads/pool.ts";
import type { TrainOutcome } from "../../../src/platform/threads/tasks.ts";
import {
  createJobQueue,
  isTransientDatabaseError,
  type JobQueue,
} from "../../../src/training/jobs/job-queue.ts";
import { createJobRunner, type JobEnd, type JobRunner } from "../../../src/training/jobs/runner.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { enqueueJob, expireLease, tinyTask } from "./fixtures.ts";

let db: TestDatabase;
let queue: JobQueue;
let runner: JobRunner | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  queue = createJobQueue({ pool: db.pool });
});
afterAll(() => db.close());
beforeEach(async () => {
  await db.pool.query("TRUNCATE models CASCADE");
});
afterEach(async () => {
  await runner?.stop(0);
  runner = undefined;
});

const WEIGHTS = float32ToBytes(new Float32Array([0.5, -1.25, 3]));
const RETRY_DELAYS_MS = [20, 20, 20];

const epoch = (n: number): EpochMetrics => ({
  epoch: n,
  epochs: 2,
  loss: 1 / n,
  learningRate: 0.01,
  durationMs: 1,
});

/** A worker pool whose every training ends at once with WEIGHTS; counts the trainings. */
function countingPool() {
  let trainings = 0;
  const pool: WorkerPool = {
    trainingThreads: 1,
    busyTrainingThreads: 0,
    train(_task, { onEpoch }) {
      trainings++;
      const history = [epoch(1), epoch(2)];
      for (const m of history) onEpoch(m);
      const outcome: TrainOutcome = {
        weights: WEIGHTS.slice(),
        architecture: { inputs: 1, layers: [] } as unknown as TrainOutcome["architecture"],
        history,
        epochsRun: 2,
        stoppedEarly: false,
        weightsEpoch: 2,
        cancelled: false,
      };
      return { result: Promise.resolve(outcome), cancel() {} };
    },
    predict: () => Promise.reject(new Error("not in these tests")),
    trainingThreadNice: async () => 0,
    utilization: () => ({ training: 0, prediction: 0 }),
    close: async () => {},
  };
  return { pool, trainings: () => trainings };
}

/** Runs the one queued job with this queue and waits for the end the runner reports. */
async function runJob(
  withQueue: JobQueue,
  leaseMs = 60_000,
  evaluate?: Parameters<typeof createJobRunner>[0]["evaluate"],
) {
  const { pool, trainings } = countingPool();
  let resolve: (end: JobEnd) => void = () => {};
  const ended = new Promise<JobEnd>((r) => {
    resolve = r;
  });
  runner = createJobRunner({
    queue: withQueue,
    pool,
    loadTask: async (job) => tinyTask(job.id),
    logger: pino({ level: "silent" }),
    leaseMs,
    heartbeatMs: Math.floor(leaseMs / 5),
    pollMs: 60_000,
    finalWriteRetryDelaysMs: RETRY_DELAYS_MS,
    ...(evaluate ? { evaluate } : {}),
    onJobEnd: (_id, end) => resolve(end),
  });
  runner.start();
  const end = await ended;
  return { end, trainings: trainings() };
}

/** The queue, with completeJob replaced by `completeJob(real, call number, ...args)`. */
function withCompleteJob(
  replace: (
    real: JobQueue["completeJob"],
    call: number,
    ...args: Parameters<JobQueue["completeJob"]>
  ) => Promise<boolean>,
) {
  let calls = 0;
  const wrapped: JobQueue = {
    ...queue,
    completeJob: (...args) => replace(queue.completeJob, ++calls, ...args),
  };
  return { queue: wrapped, calls: () => calls };
}

/** Makes Postgres end the connection this statement runs on: a real 57P01 error. */
async function terminatedConnection(): Promise<never> {
  const client = await db.pool.connect();
  client.on("error", () => {}); // the socket closing after the error reply
  try {
    await client.query("SELECT pg_terminate_backend(pg_backend_pid())");
  } catch (error) {
    client.release(true);
    throw error;
  }
  client.release(true);
  throw new Error("the backend survived pg_terminate_backend");
}

/** What node-postgres throws when the socket is reset under a query. */
const connectionReset = () =>
  Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", errno: -104, syscall: "read" });

const jobRow = (id: string) => db.prisma.trainingJob.findUniqueOrThrow({ where: { id } });
const versionOf = async (id: string) =>
  db.prisma.modelVersion.findUniqueOrThrow({ where: { id: (await jobRow(id)).versionId } });

describe("the final write of a finished training", () => {
  it("is tried again after Postgres terminated its connection, and stores the weights of the one training", async () => {
    const { id } = await enqueueJob(db.prisma);
    const errors: unknown[] = [];
    const flaky = withCompleteJob(async (real, call, ...args) => {
      if (call === 1) {
        try {
          return await terminatedConnection();
        } catch (error) {
          errors.push(error);
          throw error;
        }
      }
      return real(...args);
    });

    const { end, trainings } = await runJob(flaky.queue);

    expect(errors).toHaveLength(1);
    expect(isTransientDatabaseError(errors[0])).toBe(true);
    expect(end).toBe("succeeded");
    expect(trainings).toBe(1);
    expect(flaky.calls()).toBe(2);
    expect(await jobRow(id)).toMatchObject({ status: "succeeded", attempts: 1, epoch: 2 });
    const version = await versionOf(id);
    expect(version.status).toBe("ready");
    expect(Buffer.from(version.weights!)).toEqual(Buffer.from(WEIGHTS));
    expect(version.metrics).toMatchObject({ epoch: 2, loss: 0.5 });
  });

  it("finds its own committed write when only the reply was lost, and applies it once", async () => {
    const { id } = await enqueueJob(db.prisma);
    let afterFirst: { finishedAt: Date | null; trainedAt: Date | null } | undefined;
    const replies: boolean[] = [];
    const lostReply = withCompleteJob(async (real, call, ...args) => {
      const stored = await real(...args);
      replies.push(stored);
      if (call === 1) {
        afterFirst = {
          finishedAt: (await jobRow(id)).finishedAt,
          trainedAt: (await versionOf(id)).trainedAt,
        };
        throw connectionReset();
      }
      return stored;
    });

    const { end, trainings } = await runJob(lostReply.queue);

    expect(end).toBe("succeeded");
    expect(trainings).toBe(1);
    // The second try found the job no longer running under this attempt, and moved nothing.
    expect(replies).toEqual([true, false]);
    expect(await jobRow(id)).toMatchObject({
      status: "succeeded",
      finishedAt: afterFirst?.finishedAt,
    });
    const version = await versionOf(id);
    expect(version.trainedAt).toEqual(afterFirst?.trainedAt);
    expect(Buffer.from(version.weights!)).toEqual(Buffer.from(WEIGHTS));
  });

  it("is not tried again after an error that is not transient", async () => {
    const { id } = await enqueueJob(db.prisma);
    const broken = withCompleteJob(async () => {
      throw Object.assign(new Error("duplicate key value violates unique constraint"), {
        code: "23505",
      });
    });

    const { end, trainings } = await runJob(broken.queue);

    expect(end).toBe("lost");
    expect(trainings).toBe(1);
    expect(broken.calls()).toBe(1);
    // Left to its lease, as before.
    expect(await jobRow(id)).toMatchObject({ status: "running", attempts: 1 });
  });

  it("leaves the job to its lease once every try failed, and the lease then requeues it", async () => {
    const { id } = await enqueueJob(db.prisma);
    const down = withCompleteJob(async () => {
      throw connectionReset();
    });

    const { end, trainings } = await runJob(down.queue, 1_000);
    await runner?.stop(0);

    expect(end).toBe("lost");
    expect(trainings).toBe(1);
    expect(down.calls()).toBe(RETRY_DELAYS_MS.length + 1);
    const left = await jobRow(id);
    expect(left).toMatchObject({ status: "running", attempts: 1 });
    await expireLease(db.pool, id);
    expect(await queue.reclaimExpired()).toEqual([
      expect.objectContaining({ id, status: "queued" }),
    ]);
  });
});

describe("the evaluation of the held-back test rows", () => {
  const EVALUATION = { task: "regression", rows: 2, mae: 0.5, rmse: 0.75, r2: 0.9 };

  it("lands with the weights in the completing statement, computed once however often that is tried", async () => {
    const { id } = await enqueueJob(db.prisma);
    let evaluations = 0;
    let evaluationAtFirstTry: unknown = "not tried";
    const flaky = withCompleteJob(async (real, call, ...args) => {
      if (call === 1) {
        evaluationAtFirstTry = args[2].evaluation;
        throw connectionReset();
      }
      return real(...args);
    });

    const { end, trainings } = await runJob(flaky.queue, 60_000, async (job, weights) => {
      evaluations++;
      expect(job.id).toBe(id);
      expect(Buffer.from(weights)).toEqual(Buffer.from(WEIGHTS));
      return EVALUATION;
    });

    expect(end).toBe("succeeded");
    expect(trainings).toBe(1);
    expect(evaluations).toBe(1);
    expect(evaluationAtFirstTry).toEqual(EVALUATION);
    const version = await versionOf(id);
    expect(version).toMatchObject({ status: "ready", evaluation: EVALUATION });
  });

  it("is tried again with the write after a transient error of its own, never by training again", async () => {
    const { id } = await enqueueJob(db.prisma);
    let evaluations = 0;
    const { end, trainings } = await runJob(queue, 60_000, async () => {
      evaluations++;
      if (evaluations === 1) throw connectionReset();
      return EVALUATION;
    });
    expect(end).toBe("succeeded");
    expect(trainings).toBe(1);
    expect(evaluations).toBe(2);
    // Stored with the format version it is written in (src/platform/db/stored-json.ts).
    expect((await versionOf(id)).evaluation).toEqual({ formatVersion: 1, ...EVALUATION });
  });

  it("is null on a version without test rows", async () => {
    const { id } = await enqueueJob(db.prisma);
    const { end } = await runJob(queue, 60_000, async () => null);
    expect(end).toBe("succeeded");
    expect((await versionOf(id)).evaluation).toBeNull();
  });
});

describe("isTransientDatabaseError", () => {
  const pgError = (code: string) => Object.assign(new Error(`error ${code}`), { code });

  it("takes connection losses, restarts, serialization failures and deadlocks as transient", () => {
    for (const code of ["08006", "08003", "40001", "40P01", "57P01", "57P03", "53300"]) {
      expect(isTransientDatabaseError(pgError(code)), code).toBe(true);
    }
    expect(isTransientDatabaseError(connectionReset())).toBe(true);
    expect(isTransientDatabaseError(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isTransientDatabaseError(new Error("timeout exceeded when trying to connect"))).toBe(
      true,
    );
    expect(
      isTransientDatabaseError(new Error("query failed", { cause: pgError("ECONNREFUSED") })),
    ).toBe(true);
  });

  it("takes constraint violations, bad input and other errors as lasting", () => {
    for (const code of ["23505", "23503", "22P02", "42P01", "XX000"]) {
      expect(isTransientDatabaseError(pgError(code)), code).toBe(false);
    }
    expect(isTransientDatabaseError(new Error("boom"))).toBe(false);
    expect(isTransientDatabaseError("Connection terminated")).toBe(false);
  });
});
