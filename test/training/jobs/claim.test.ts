import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createJobQueue, type JobQueue } from "../../../src/training/jobs/job-queue.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { enqueueJob } from "./fixtures.ts";

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

describe("claimJob", () => {
  it("gives each of 20 jobs to exactly one of 4 concurrent claimers", async () => {
    const jobs = [];
    for (let i = 0; i < 20; i++) jobs.push(await enqueueJob(db.prisma));

    const claimer = async (workerId: string) => {
      const claimed: string[] = [];
      for (;;) {
        const job = await queue.claimJob({ workerId, leaseMs: 60_000 });
        if (!job) return claimed;
        claimed.push(job.id);
      }
    };
    const results = await Promise.all(["w1", "w2", "w3", "w4"].map(claimer));

    const all = results.flat();
    expect(all).toHaveLength(20);
    expect(new Set(all).size).toBe(20);
    expect(new Set(all)).toEqual(new Set(jobs.map((job) => job.id)));
    const rows = await db.prisma.trainingJob.findMany();
    expect(rows.every((row) => row.status === "running" && row.attempts === 1)).toBe(true);
  });

  it("leases the oldest due job to the worker and marks its version training", async () => {
    const first = await enqueueJob(db.prisma);
    const second = await enqueueJob(db.prisma);
    // created_at has millisecond precision: make the order certain.
    await db.pool.query(
      "UPDATE training_jobs SET created_at = created_at + interval '1 second' WHERE id = $1",
      [second.id],
    );

    const job = await queue.claimJob({ workerId: "w1", leaseMs: 30_000 });

    expect(job).toMatchObject({
      id: first.id,
      versionId: first.versionId,
      status: "running",
      attempts: 1,
      leaseOwner: "w1",
      epochs: 3,
    });
    expect(job!.startedAt).toBeInstanceOf(Date);
    const leaseMs = job!.leaseExpiresAt!.getTime() - job!.startedAt!.getTime();
    expect(leaseMs).toBeGreaterThanOrEqual(29_000);
    expect(leaseMs).toBeLessThanOrEqual(30_000);
    const version = await db.prisma.modelVersion.findUniqueOrThrow({
      where: { id: first.versionId },
    });
    expect(version.status).toBe("training");
  });

  it("returns the job with the same fields and values as Prisma reads it", async () => {
    await enqueueJob(db.prisma, { idempotencyKey: "key-1" });

    const job = await queue.claimJob({ workerId: "w1", leaseMs: 1_000 });

    const { model, modelVersion, ...row } = job!;
    expect(row).toEqual(await db.prisma.trainingJob.findUnique({ where: { id: job!.id } }));
    expect(row.worker).toBe("w1");
    // And what names it in the runner's logs.
    const version = await db.prisma.modelVersion.findUniqueOrThrow({
      where: { id: job!.versionId },
      include: { model: true },
    });
    expect({ model, modelVersion }).toEqual({
      model: version.model.name,
      modelVersion: version.version,
    });
  });

  it("returns null when nothing is queued", async () => {
    expect(await queue.claimJob({ workerId: "w1", leaseMs: 1_000 })).toBeNull();
  });

  it("does not claim a job before its runAt", async () => {
    await enqueueJob(db.prisma, { runAt: new Date(Date.now() + 60_000) });

    expect(await queue.claimJob({ workerId: "w1", leaseMs: 1_000 })).toBeNull();
  });

  it("takes turns between API keys: the key with fewer running jobs goes first", async () => {
    const key = (name: string) =>
      db.prisma.apiKey.create({
        data: { name, prefix: `nns_${name}`, hash: name, scopes: "train" },
      });
    const [busy, quiet] = await Promise.all([key("busykey1"), key("quietke1")]);
    // The busy key queued three jobs before the quiet key's one.
    const busyJobs = [];
    for (let i = 0; i < 3; i++) busyJobs.push(await enqueueJob(db.prisma, { apiKeyId: busy.id }));
    const quietJob = await enqueueJob(db.prisma, { apiKeyId: quiet.id });

    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const job = await queue.claimJob({ workerId: `w${i}`, leaseMs: 60_000 });
      order.push(job!.id);
    }
    // busy (0 running) first by age, then quiet (0 running vs busy's 1), then busy's rest.
    expect(order).toEqual([busyJobs[0]!.id, quietJob.id, busyJobs[1]!.id, busyJobs[2]!.id]);
  });
});
