import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bytesToFloat32, float32ToBytes } from "../../../src/platform/db/binary.ts";
import { createJobQueue, type JobQueue } from "../../../src/training/jobs/job-queue.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { enqueueJob, expireLease } from "./fixtures.ts";

let db: TestDatabase;
let queue: JobQueue;

beforeAll(async () => {
  db = await createTestDatabase();
  queue = createJobQueue({ pool: db.pool });
});
afterAll(() => db.close());
beforeEach(async () => {
  await db.pool.query("TRUNCATE models CASCADE");
});

const job = (id: string) => db.prisma.trainingJob.findUniqueOrThrow({ where: { id } });
const versionOf = async (id: string) =>
  db.prisma.modelVersion.findUniqueOrThrow({ where: { id: (await job(id)).versionId } });

/** Claims the job with a lease that is over by the time this returns. */
async function claimExpiring(workerId: string) {
  const claimed = await queue.claimJob({ workerId, leaseMs: 60_000 });
  await expireLease(db.pool, claimed!.id);
  return claimed!;
}

describe("leases", () => {
  it("requeues a job whose lease expired while attempts remain", async () => {
    const { id } = await enqueueJob(db.prisma, { maxAttempts: 2 });
    await claimExpiring("w1");

    expect(await queue.reclaimExpired()).toEqual([reclaimedAs(id, "queued", 1, "w1")]);

    expect(await job(id)).toMatchObject({
      status: "queued",
      attempts: 1,
      leaseOwner: null,
      leaseExpiresAt: null,
    });
    expect((await versionOf(id)).status).toBe("pending");
    const again = await queue.claimJob({ workerId: "w2", leaseMs: 60_000 });
    expect(again).toMatchObject({ id, attempts: 2, leaseOwner: "w2" });
  });

  it("fails a job whose lease expired on its last attempt", async () => {
    const { id } = await enqueueJob(db.prisma, { maxAttempts: 2 });
    await claimExpiring("w1");
    await queue.reclaimExpired();
    await claimExpiring("w2");

    expect(await queue.reclaimExpired()).toEqual([reclaimedAs(id, "failed", 2, "w2")]);

    expect(await job(id)).toMatchObject({
      status: "failed",
      attempts: 2,
      error: "lease expired after 2 attempts",
      leaseExpiresAt: null,
    });
    expect((await job(id)).finishedAt).toBeInstanceOf(Date);
    expect((await versionOf(id)).status).toBe("failed");
    expect(await queue.claimJob({ workerId: "w3", leaseMs: 1_000 })).toBeNull();
  });

  it("leaves jobs with live leases alone", async () => {
    await enqueueJob(db.prisma);
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });

    expect(await queue.reclaimExpired()).toEqual([]);
  });

  it("extends the lease on heartbeat while the worker owns the job", async () => {
    const { id } = await enqueueJob(db.prisma);
    const claimed = await queue.claimJob({ workerId: "w1", leaseMs: 1_000 });

    expect(await queue.heartbeat(id, "w1", 60_000)).toEqual({
      owned: true,
      cancelRequested: false,
    });
    const lease = (await job(id)).leaseExpiresAt!.getTime();
    expect(lease - claimed!.leaseExpiresAt!.getTime()).toBeGreaterThan(50_000);
    expect(await queue.heartbeat(id, "someone-else", 60_000)).toMatchObject({ owned: false });
  });

  it("tells the old owner it lost the job once its expired lease was reclaimed", async () => {
    const { id } = await enqueueJob(db.prisma);
    await claimExpiring("w1");
    await queue.reclaimExpired();
    await queue.claimJob({ workerId: "w2", leaseMs: 60_000 });

    expect(await queue.heartbeat(id, "w1", 60_000)).toEqual({
      owned: false,
      cancelRequested: false,
    });
    expect(await queue.recordEpoch(id, "w1", { epoch: 1, loss: 1, durationMs: 5 })).toBe(false);
    expect(
      await queue.completeJob(id, "w1", { weights: new Uint8Array(4), metrics: { loss: 1 } }),
    ).toBe(false);
    expect(await queue.failJob(id, "w1", "boom")).toBeNull();
    expect(await queue.releaseJob(id, "w1")).toBeNull();
    expect(await job(id)).toMatchObject({ status: "running", leaseOwner: "w2" });
  });

  it("ends only the attempt a final move names, and moves a job only once", async () => {
    const { id } = await enqueueJob(db.prisma, { maxAttempts: 3 });
    await claimExpiring("w1");
    await queue.reclaimExpired();
    // The same worker claims the job afresh while its first attempt's final write is retried.
    const again = await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });
    expect(again).toMatchObject({ id, attempts: 2 });
    const result = { weights: new Uint8Array(4), metrics: { loss: 1 } };

    expect(await queue.completeJob(id, "w1", { ...result, attempt: 1 })).toBe(false);
    expect(await queue.failJob(id, "w1", "boom", { attempt: 1 })).toBeNull();
    expect(await queue.releaseJob(id, "w1", 1)).toBeNull();
    expect(await queue.markCancelled(id, "w1", 1)).toBe(false);
    expect(await job(id)).toMatchObject({ status: "running", attempts: 2, leaseOwner: "w1" });

    expect(await queue.completeJob(id, "w1", { ...result, attempt: 2 })).toBe(true);
    const done = await job(id);
    expect(await queue.completeJob(id, "w1", { ...result, attempt: 2 })).toBe(false);
    expect(await job(id)).toEqual(done);
    expect(await queue.getJob(id)).toMatchObject({ id, status: "succeeded", attempts: 2 });
  });

  it("gives a released job back to the queue without using up an attempt", async () => {
    const { id } = await enqueueJob(db.prisma, { maxAttempts: 1 });
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });

    expect(await queue.releaseJob(id, "w1")).toBe("queued");

    expect(await job(id)).toMatchObject({ status: "queued", attempts: 0, leaseOwner: null });
    expect(await queue.claimJob({ workerId: "w2", leaseMs: 60_000 })).toMatchObject({
      id,
      attempts: 1,
    });
  });
});

describe("a worker's progress", () => {
  it("records each epoch and the latest metrics on the job", async () => {
    const { id } = await enqueueJob(db.prisma);
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });

    expect(await queue.recordEpoch(id, "w1", { epoch: 1, loss: 0.5, durationMs: 12 })).toBe(true);
    expect(
      await queue.recordEpoch(id, "w1", {
        epoch: 2,
        loss: 0.25,
        valLoss: 0.3,
        accuracy: 0.9,
        learningRate: 0.01,
        durationMs: 11,
      }),
    ).toBe(true);

    expect(await job(id)).toMatchObject({
      epoch: 2,
      metrics: { epoch: 2, loss: 0.25, valLoss: 0.3, accuracy: 0.9 },
    });
    const rows = await db.prisma.epochMetric.findMany({
      where: { jobId: id },
      orderBy: { epoch: "asc" },
    });
    expect(rows.map((row) => [row.epoch, row.loss, row.valLoss])).toEqual([
      [1, 0.5, null],
      [2, 0.25, 0.3],
    ]);
  });

  it("keeps a diverged epoch's NaN loss in its row, and null in the job's latest metrics", async () => {
    const { id } = await enqueueJob(db.prisma);
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });

    await queue.recordEpoch(id, "w1", {
      epoch: 1,
      loss: Number.NaN,
      valLoss: Infinity,
      durationMs: 1,
    });

    const row = await db.prisma.epochMetric.findFirstOrThrow({ where: { jobId: id } });
    expect(row.loss).toBeNaN();
    expect(row.valLoss).toBe(Infinity);
    expect((await job(id)).metrics).toMatchObject({ loss: null, valLoss: null });
  });

  it("starts a new attempt from scratch, forgetting the last attempt's epochs", async () => {
    const { id } = await enqueueJob(db.prisma);
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });
    await queue.recordEpoch(id, "w1", { epoch: 1, loss: 0.5, durationMs: 12 });
    await queue.releaseJob(id, "w1");

    await queue.claimJob({ workerId: "w2", leaseMs: 60_000 });

    expect(await job(id)).toMatchObject({ epoch: 0, metrics: null });
    expect(await db.prisma.epochMetric.count({ where: { jobId: id } })).toBe(0);
  });

  it("completes the job and stores the weights and final metrics on its version", async () => {
    const { id } = await enqueueJob(db.prisma);
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });
    const weights = new Float32Array([0.5, -1.25, 3e-8]);

    expect(
      await queue.completeJob(id, "w1", {
        weights: float32ToBytes(weights),
        metrics: { loss: 0.1 },
      }),
    ).toBe(true);

    const done = await job(id);
    expect(done).toMatchObject({ status: "succeeded", leaseOwner: "w1", leaseExpiresAt: null });
    expect(done.finishedAt).toBeInstanceOf(Date);
    const version = await versionOf(id);
    expect(version).toMatchObject({ status: "ready", metrics: { loss: 0.1 } });
    expect(version.trainedAt).toEqual(done.finishedAt);
    expect(bytesToFloat32(version.weights!)).toEqual(weights);
  });

  it("fails the job with its reason, or queues it again when asked to retry", async () => {
    const { id } = await enqueueJob(db.prisma, { maxAttempts: 2 });
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });

    expect(await queue.failJob(id, "w1", "worker crashed", { retry: true })).toBe("queued");
    expect(await job(id)).toMatchObject({ status: "queued", error: "worker crashed" });

    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });
    expect(await queue.failJob(id, "w1", "worker crashed", { retry: true })).toBe("failed");
    expect(await job(id)).toMatchObject({ status: "failed", attempts: 2 });
    expect((await versionOf(id)).status).toBe("failed");
  });

  it("fails a job at once when no retry is asked, attempts notwithstanding", async () => {
    const { id } = await enqueueJob(db.prisma, { maxAttempts: 5 });
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });

    expect(await queue.failJob(id, "w1", "loss became NaN")).toBe("failed");
    expect(await job(id)).toMatchObject({ status: "failed", error: "loss became NaN" });
  });
});

/** What reclaimExpired reports for a job: enough for a log line naming it and its last worker. */
function reclaimedAs(id: string, status: string, attempts: number, previousWorker: string) {
  return {
    id,
    status,
    attempts,
    previousWorker,
    model: expect.any(String),
    modelVersion: expect.any(Number),
  };
}
