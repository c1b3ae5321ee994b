/**
 * The training service on Postgres, without a transport: version numbering and idempotency
 * under concurrency, the examples as the worker reads them back, the API key a job is linked to
 * and that key's job limit under concurrency, listing with cursors, the epoch metrics view,
 * cancel.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyStore } from "../../src/auth/key-store.ts";
import { loadConfig } from "../../src/platform/config.ts";
import { isAppError } from "../../src/platform/errors.ts";
import { createJobQueue } from "../../src/training/jobs/job-queue.ts";
import type { JobListQuery } from "../../src/training/jobs/schemas.ts";
import { loadTrainingTask } from "../../src/training/jobs/training-task.ts";
import type { TrainRequestInput } from "../../src/training/request.ts";
import { createTrainingService } from "../../src/training/service.ts";
import { createRequestSchemas } from "../../src/transport/request-schemas.ts";
import type { Submitter, TrainingService } from "../../src/transport/services.ts";
import type { StoredTraining } from "../../src/versions/stored-training.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { clustersRequest, quickXorRequest, XOR_INPUTS } from "../helpers/requests.ts";

let db: TestDatabase;
let training: TrainingService;

const schemas = createRequestSchemas(loadConfig({ NODE_ENV: "test" }).limits);
const parse = (input: TrainRequestInput) => schemas.trainRequest.parse(input);
const list = (query: Partial<JobListQuery>) => training.listJobs({ limit: 20, ...query });

beforeAll(async () => {
  db = await createTestDatabase();
  training = createTrainingService({
    db,
    queue: createJobQueue({ pool: db.pool }),
    maxAttempts: 4,
  });
});

afterAll(async () => {
  await db?.close();
});

async function expectAppError(promise: Promise<unknown>, code: string, path?: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAppError(error), String(error)).toBe(true);
  if (!isAppError(error)) return;
  expect(error.code).toBe(code);
  if (path !== undefined) expect(error.errors.map((e) => e.path)).toEqual([path]);
}

describe("submit", () => {
  it("gives concurrent submissions for one model the versions 1..n, each with its queued job", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => training.submit(parse(quickXorRequest("concurrent")))),
    );
    expect(results.every((r) => r.created && r.job.status === "queued")).toBe(true);
    expect(results.map((r) => r.job.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    expect(new Set(results.map((r) => r.job.id)).size).toBe(10);
    const { rows } = await db.pool.query<{ max_attempts: number; status: string }>(
      `SELECT j.max_attempts, v.status FROM training_jobs j
         JOIN model_versions v ON v.id = j.version_id JOIN models m ON m.id = v.model_id
        WHERE m.name = 'concurrent'`,
    );
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(row).toEqual({ max_attempts: 4, status: "pending" });
  });

  it("answers concurrent submissions with one new Idempotency-Key with one job, leaving no other version", async () => {
    const key = randomUUID();
    const request = parse(quickXorRequest("keyed"));
    const results = await Promise.all(
      Array.from({ length: 8 }, () => training.submit(request, { idempotencyKey: key })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);

    // The same key with another request is refused, and still leaves nothing behind.
    await expectAppError(
      training.submit(parse({ ...quickXorRequest("keyed"), training: { epochs: 3 } }), {
        idempotencyKey: key,
      }),
      "IDEMPOTENCY_KEY_REUSED",
    );
    const { rows } = await db.pool.query(
      "SELECT v.version FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'keyed'",
    );
    expect(rows).toEqual([{ version: 1 }]);
  });

  it("stores XOR's targets and a classifier's class indices as the worker reads them back", async () => {
    const xor = await training.submit(parse(quickXorRequest("stored-xor")));
    const xorJob = await db.prisma.trainingJob.findUniqueOrThrow({ where: { id: xor.job.id } });
    const xorTask = await loadTrainingTask(db, xorJob);
    expect(xorTask.network).toEqual(quickXorRequest("stored-xor").network);
    expect(Array.from(xorTask.data.inputs)).toEqual(XOR_INPUTS.flat());
    expect(Array.from(xorTask.data.targets!)).toEqual([0, 1, 1, 0]);
    expect(xorTask.data.labels).toBeUndefined();
    expect(xorTask.settings).toMatchObject({
      loss: "binaryCrossentropy",
      optimizer: { name: "adam", learningRate: 0.1 },
      epochs: 80,
      batchSize: 4,
      seed: 1,
      shuffle: true,
      validationSplit: 0,
    });

    const request = clustersRequest("stored-clusters");
    const clusters = await training.submit(parse(request));
    const job = await db.prisma.trainingJob.findUniqueOrThrow({ where: { id: clusters.job.id } });
    const task = await loadTrainingTask(db, job);
    expect(task.data.rows).toBe(request.data.inputs.length);
    expect(Array.from(task.data.inputs)).toEqual(
      Array.from(Float32Array.from(request.data.inputs.flat())),
    );
    expect(task.data.labels).toEqual(Int32Array.from(request.data.labels!));
    expect(task.data.targets).toBeUndefined();

    // 0/1 labels for a 1-unit sigmoid are its targets.
    const { targets: _targets, ...xorData } = quickXorRequest("labelled-xor").data;
    const labelled = await training.submit(
      parse({ ...quickXorRequest("labelled-xor"), data: { ...xorData, labels: [0, 1, 1, 0] } }),
    );
    const labelledJob = await db.prisma.trainingJob.findUniqueOrThrow({
      where: { id: labelled.job.id },
    });
    const labelledTask = await loadTrainingTask(db, labelledJob);
    expect(Array.from(labelledTask.data.targets!)).toEqual([0, 1, 1, 0]);
    expect(labelledTask.data.labels).toBeUndefined();
  });

  it("records a drawn seed when the request has none, so the version can be trained again", async () => {
    const request = quickXorRequest("unseeded");
    const { seed: _seed, ...trainingSettings } = request.training;
    const { job } = await training.submit(parse({ ...request, training: trainingSettings }));
    const version = await db.prisma.modelVersion.findFirstOrThrow({
      where: { jobs: { some: { id: job.id } } },
    });
    const stored = version.training as unknown as StoredTraining;
    expect(Number.isInteger(stored.seed)).toBe(true);
    expect(stored.seed).toBeGreaterThanOrEqual(0);
  });
});

describe("submit of bulk data", () => {
  it("outlasts Prisma's 5 s transaction timeout while waiting its turn on the model", async () => {
    await training.submit(parse(quickXorRequest("slow-turn")));
    // Another submission holds the model's row (as a large concurrent write would) for 6 s.
    const holder = await db.pool.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT id FROM models WHERE name = 'slow-turn' FOR UPDATE");
      const submitted = training.submit(parse(quickXorRequest("slow-turn")));
      const outcome = submitted.then(
        (r) => r,
        (e: unknown) => e,
      );
      // Waiting on the lock, inside its transaction.
      for (;;) {
        const { rows } = await db.pool.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        if (rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      await holder.query("COMMIT");
      const result = await outcome;
      expect(result, String(result)).toMatchObject({ created: true, job: { version: 2 } });
    } finally {
      holder.release();
    }
  }, 60_000);
});

describe("submit with an API key", () => {
  const LIMIT = 3;
  let limited: TrainingService;
  beforeAll(() => {
    limited = createTrainingService({
      db,
      queue: createJobQueue({ pool: db.pool }),
      maxAttempts: 4,
      maxQueuedJobsPerKey: LIMIT,
    });
  });

  async function submitter(name: string): Promise<Submitter> {
    const { apiKey } = await createKeyStore({ db }).create({ name, scopes: ["train"] });
    return { keyId: apiKey.id, prefix: apiKey.prefix };
  }

  const keyOf = async (jobId: string) =>
    (await db.prisma.trainingJob.findUniqueOrThrow({ where: { id: jobId } })).apiKeyId;

  it("links the job to its key in the transaction that creates it", async () => {
    const key = await submitter("linked");
    const { job } = await limited.submit(parse(quickXorRequest("key-linked")), {
      submitter: key,
    });
    expect(await keyOf(job.id)).toBe(key.keyId);
    // Without a limit the job is linked all the same; without a key it is linked to none.
    const unlimited = await training.submit(parse(quickXorRequest("key-linked")), {
      submitter: key,
    });
    expect(await keyOf(unlimited.job.id)).toBe(key.keyId);
    const anonymous = await limited.submit(parse(quickXorRequest("key-linked")));
    expect(await keyOf(anonymous.job.id)).toBeNull();
  });

  it("accepts exactly the limit of concurrent submissions with one key, refusing the rest", async () => {
    const key = await submitter("concurrent");
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        limited.submit(parse(quickXorRequest(`key-concurrent-${i % 2}`)), { submitter: key }),
      ),
    );
    const accepted = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
    const refused = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason] : []));
    expect(accepted).toHaveLength(LIMIT);
    expect(refused).toHaveLength(8 - LIMIT);
    for (const error of refused) {
      expect(isAppError(error) && error.code).toBe("TOO_MANY_REQUESTS");
      expect(isAppError(error) && error.statusCode).toBe(429);
      expect((error as Error).message).toBe(
        `API key ${key.prefix} has 3 queued or running training jobs, the limit is 3; wait for one to finish or cancel one.`,
      );
    }
    const { rows } = await db.pool.query(
      "SELECT count(*)::int AS n FROM training_jobs WHERE api_key_id = $1",
      [key.keyId],
    );
    expect(rows[0].n).toBe(LIMIT);
    // The refused submissions left no model version behind.
    const versions = await db.prisma.modelVersion.count({
      where: { model: { name: { startsWith: "key-concurrent-" } } },
    });
    expect(versions).toBe(LIMIT);
    // Another key has a limit of its own.
    const other = await limited.submit(parse(quickXorRequest("key-concurrent-0")), {
      submitter: await submitter("other"),
    });
    expect(other.created).toBe(true);
  });

  it("counts only queued and running jobs: a cancelled one frees its place", async () => {
    const key = await submitter("freed");
    const jobs = [];
    for (let i = 0; i < LIMIT; i++) {
      jobs.push(
        (await limited.submit(parse(quickXorRequest("key-freed")), { submitter: key })).job,
      );
    }
    await expectAppError(
      limited.submit(parse(quickXorRequest("key-freed")), { submitter: key }),
      "TOO_MANY_REQUESTS",
    );
    await limited.cancel(jobs[0]!.id);
    const again = await limited.submit(parse(quickXorRequest("key-freed")), { submitter: key });
    expect(again.created).toBe(true);
  });

  it("answers a retry with the Idempotency-Key of an accepted job with that job, at the limit too", async () => {
    const key = await submitter("retried");
    for (let i = 1; i < LIMIT; i++) {
      await limited.submit(parse(quickXorRequest("key-retried")), { submitter: key });
    }
    // Concurrent tries for the key's last place: one job; the others wait for the key's lock,
    // find the limit reached, and answer with the job that reached it.
    const request = parse(quickXorRequest("key-retried"));
    const idempotencyKey = randomUUID();
    const first = await Promise.all(
      Array.from({ length: 4 }, () => limited.submit(request, { idempotencyKey, submitter: key })),
    );
    expect(first.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(first.map((r) => r.job.id)).size).toBe(1);
    const retried = await limited.submit(request, { idempotencyKey, submitter: key });
    expect(retried).toMatchObject({ created: false, job: { id: first[0]!.job.id } });
    await expectAppError(
      limited.submit(request, { idempotencyKey: randomUUID(), submitter: key }),
      "TOO_MANY_REQUESTS",
    );
  });
});

describe("listJobs", () => {
  it("pages jobs created in the same millisecond by id, losing and repeating none", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await training.submit(parse(quickXorRequest("ties")))).job.id);
    await db.pool.query(
      "UPDATE training_jobs SET created_at = '2026-01-01T00:00:00.000Z' WHERE id = ANY($1::uuid[])",
      [ids],
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const result = await list({ model: "ties", limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...result.items.map((j) => j.id));
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
    }
    expect(seen).toEqual([...ids].sort().reverse());
  });

  it("filters by status and by model", async () => {
    const a = await training.submit(parse(quickXorRequest("filtered")));
    const b = await training.submit(parse(quickXorRequest("filtered")));
    await training.cancel(a.job.id);
    expect((await list({ model: "filtered", status: "cancelled" })).items.map((j) => j.id)).toEqual(
      [a.job.id],
    );
    expect((await list({ model: "filtered", status: "queued" })).items.map((j) => j.id)).toEqual([
      b.job.id,
    ]);
    expect(await list({ model: "nobody" })).toEqual({ items: [], nextCursor: null });
  });

  it("rejects a cursor it did not write", async () => {
    const forged = Buffer.from(`2026-01-01T00:00:00.000Z|${"x".repeat(36)}`).toString("base64url");
    await expectAppError(list({ cursor: forged }), "VALIDATION_FAILED", "cursor");
    await expectAppError(list({ cursor: "%%%" }), "VALIDATION_FAILED", "cursor");
  });
});

describe("jobMetrics", () => {
  it("lists epochs in order, a non-finite value as null, and leaves out what was not measured", async () => {
    const { job } = await training.submit(parse(quickXorRequest("measured")));
    await db.pool.query(
      `INSERT INTO epoch_metrics (job_id, epoch, loss, accuracy, learning_rate, duration_ms)
       VALUES ($1, 2, 'NaN', 0.5, 0.1, 1.5), ($1, 1, 0.7, 0.25, 0.1, 2), ($1, 3, 'Infinity', NULL, NULL, 1)`,
      [job.id],
    );
    const metrics = await training.jobMetrics(job.id);
    expect(metrics).toEqual({
      jobId: job.id,
      epochs: [
        { epoch: 1, loss: 0.7, accuracy: 0.25, learningRate: 0.1, durationMs: 2 },
        { epoch: 2, loss: null, accuracy: 0.5, learningRate: 0.1, durationMs: 1.5 },
        { epoch: 3, loss: null, durationMs: 1 },
      ],
    });
    await expectAppError(training.jobMetrics(randomUUID()), "NOT_FOUND");
  });
});

describe("cancel", () => {
  it("cancels a queued job at once, and refuses a finished or unknown one", async () => {
    const { job } = await training.submit(parse(quickXorRequest("cancelled")));
    const cancelled = await training.cancel(job.id);
    expect(cancelled).toMatchObject({ status: "cancelled", cancelRequested: true, attempts: 0 });
    await expectAppError(training.cancel(job.id), "CONFLICT");
    await expectAppError(training.cancel(randomUUID()), "NOT_FOUND");
    await expectAppError(training.getJob(randomUUID()), "NOT_FOUND");
  });
});
