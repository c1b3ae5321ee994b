import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
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

describe("cancelJob", () => {
  it("cancels a queued job at once", async () => {
    const { id } = await enqueueJob(db.prisma);

    expect(await queue.cancelJob(id)).toEqual({ outcome: "cancelled" });

    expect(await job(id)).toMatchObject({ status: "cancelled" });
    expect((await job(id)).finishedAt).toBeInstanceOf(Date);
    expect((await versionOf(id)).status).toBe("cancelled");
    expect(await queue.claimJob({ workerId: "w1", leaseMs: 1_000 })).toBeNull();
  });

  it("asks the worker of a running job to stop, which then marks it cancelled", async () => {
    const { id } = await enqueueJob(db.prisma);
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });
    await queue.recordEpoch(id, "w1", { epoch: 1, loss: 0.5, durationMs: 10 });

    expect(await queue.cancelJob(id)).toEqual({ outcome: "cancelRequested" });
    expect(await job(id)).toMatchObject({ status: "running", cancelRequested: true });

    expect(await queue.heartbeat(id, "w1", 60_000)).toEqual({ owned: true, cancelRequested: true });
    expect(await queue.markCancelled(id, "w1")).toBe(true);

    expect(await job(id)).toMatchObject({ status: "cancelled", epoch: 1, metrics: { loss: 0.5 } });
    expect(await db.prisma.epochMetric.count({ where: { jobId: id } })).toBe(1);
    expect((await versionOf(id)).status).toBe("cancelled");
  });

  it("reports a finished job as such, leaving it unchanged", async () => {
    const { id } = await enqueueJob(db.prisma);
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });
    await queue.completeJob(id, "w1", { weights: new Uint8Array(4), metrics: {} });

    expect(await queue.cancelJob(id)).toEqual({ outcome: "alreadyFinished", status: "succeeded" });
    expect(await job(id)).toMatchObject({ status: "succeeded", cancelRequested: false });
  });

  it("reports an unknown job", async () => {
    expect(await queue.cancelJob(randomUUID())).toEqual({ outcome: "notFound" });
  });

  it("ends a job cancelled while running as cancelled when its lease expires", async () => {
    const { id } = await enqueueJob(db.prisma);
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });
    await queue.cancelJob(id);
    await expireLease(db.pool, id);

    expect(await queue.reclaimExpired()).toEqual([
      expect.objectContaining({ id, status: "cancelled" }),
    ]);
    expect((await versionOf(id)).status).toBe("cancelled");
  });

  it("cancels instead of requeueing a job released after cancel was asked", async () => {
    const { id } = await enqueueJob(db.prisma);
    await queue.claimJob({ workerId: "w1", leaseMs: 60_000 });
    await queue.cancelJob(id);

    expect(await queue.releaseJob(id, "w1")).toBe("cancelled");
  });
});
