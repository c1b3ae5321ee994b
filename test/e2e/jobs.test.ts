/**
 * Following and steering training jobs over HTTP on a whole in-process server (startNnserve,
 * one training thread, real Postgres): cancel, idempotent submits, listing with filters and
 * cursors, per-epoch metrics, readiness.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultKernelBackend } from "../../src/engine/index.ts";
import type { ReadinessReport } from "../../src/platform/readiness-schema.ts";
import type { Problem } from "../../src/platform/validation/problem.ts";
import type { Job, JobMetrics, JobPage } from "../../src/training/jobs/schemas.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import type { Model } from "../../src/versions/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { longXorRequest, slowRequest, xnorRequest, xorRequest } from "../helpers/requests.ts";
import { startTestServer, type TestServer, waitFor, waitForJob } from "../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

const epochsUpTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function submit(body: unknown, headers?: Record<string, string>) {
  const response = await server.http.post<TrainAccepted>("/train", body, headers);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body.jobId;
}

describe("cancelling jobs", () => {
  it("cancels a queued job at once, and a running one between batches keeping the epochs it reached", async () => {
    const { http } = server;
    const runningId = await submit(slowRequest("cancel-running", 2_000));
    await waitForJob(http, runningId, (job) => job.status === "running" && job.progress.epoch >= 3);

    // The one training thread is busy, so this one waits in the queue.
    const queuedId = await submit(longXorRequest("cancel-queued", 50));
    expect((await http.get<Job>(`/jobs/${queuedId}`)).body.status).toBe("queued");

    const cancelledQueued = await http.post<Job>(`/jobs/${queuedId}/cancel`);
    expect(cancelledQueued.status).toBe(202);
    expect(cancelledQueued.body).toMatchObject({
      status: "cancelled",
      cancelRequested: true,
      attempts: 0,
      startedAt: null,
      finishedAt: expect.any(String),
    });

    const cancelRunning = await http.post<Job>(`/jobs/${runningId}/cancel`);
    expect(cancelRunning.status).toBe(202);
    expect(cancelRunning.body).toMatchObject({ status: "running", cancelRequested: true });

    const cancelled = await waitForJob(http, runningId);
    expect(cancelled).toMatchObject({ status: "cancelled", attempts: 1, error: null });
    expect(cancelled.progress.epoch).toBeGreaterThanOrEqual(3);
    expect(cancelled.progress.epoch).toBeLessThan(2_000);
    expect(cancelled.metrics?.loss).toEqual(expect.any(Number));
    const metrics = await http.get<JobMetrics>(`/jobs/${runningId}/metrics`);
    expect(metrics.body.epochs.map((e) => e.epoch)).toEqual(epochsUpTo(cancelled.progress.epoch));

    const model = await http.get<Model>("/models/cancel-running");
    expect(model.body.versions.map((v) => v.status)).toEqual(["cancelled"]);
    expect((await http.get<Model>("/models/cancel-queued")).body.versions[0]!.status).toBe(
      "cancelled",
    );

    // The queued one never ran, and a finished job cannot be cancelled again.
    const queued = await http.get<Job>(`/jobs/${queuedId}`);
    expect(queued.body).toMatchObject({ status: "cancelled", progress: { epoch: 0, epochs: 50 } });
    const again = await http.post<Problem>(`/jobs/${runningId}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("CONFLICT");
    await waitFor("the runner to be idle", async () =>
      server.runner.running === 0 ? true : undefined,
    );
  });
});

describe("failing jobs", () => {
  it("fails a diverging training at once with the engine's reason, without retrying it", async () => {
    const { http } = server;
    const inputs = Array.from({ length: 16 }, (_, i) => [i, 2 * i]);
    const id = await submit({
      model: "diverging",
      network: {
        inputs: 2,
        layers: [
          { units: 8, activation: "relu" },
          { units: 1, activation: "linear" },
        ],
      },
      loss: "mse",
      optimizer: { name: "sgd", learningRate: 1e6 },
      training: { epochs: 50, batchSize: 4, shuffle: false, seed: 1 },
      data: { inputs, targets: inputs.map(([x, y]) => [x! + y!]) },
    });
    const job = await waitForJob(http, id);
    expect(job).toMatchObject({ status: "failed", attempts: 1 });
    expect(job.error).toMatch(/^training diverged at epoch \d+, batch \d+/);
    const model = await http.get<Model>("/models/diverging");
    expect(model.body.versions.map((v) => v.status)).toEqual(["failed"]);
  });
});

describe("Idempotency-Key", () => {
  it("answers a retried submit with the first job (200), and the key with another body with 422", async () => {
    const { http } = server;
    const key = randomUUID();
    const first = await http.post<TrainAccepted>("/train", xorRequest("idem"), {
      "idempotency-key": key,
    });
    expect(first.status).toBe(202);
    const retry = await http.post<TrainAccepted>("/train", xorRequest("idem"), {
      "idempotency-key": key,
    });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ ...first.body, status: retry.body.status });
    expect(retry.headers.get("location")).toBe(`/jobs/${first.body.jobId}`);

    const reused = await http.post<Problem>("/train", xnorRequest("idem"), {
      "idempotency-key": key,
    });
    expect(reused.status).toBe(422);
    expect(reused.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
    expect(reused.body).toMatchObject({
      type: "https://nnserve.dev/problems/idempotency-key-reused",
      code: "IDEMPOTENCY_KEY_REUSED",
      status: 422,
    });

    // Five concurrent retries of a new key: one job, one version, whoever wins the race.
    const burstKey = randomUUID();
    const burst = await Promise.all(
      Array.from({ length: 5 }, () =>
        http.post<TrainAccepted>("/train", xorRequest("idem"), { "idempotency-key": burstKey }),
      ),
    );
    expect(burst.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 202]);
    expect(new Set(burst.map((r) => r.body.jobId)).size).toBe(1);

    const model = await http.get<Model>("/models/idem");
    expect(model.body.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(model.body.versions.map((v) => v.jobId)).toEqual([
      first.body.jobId,
      burst[0]!.body.jobId,
    ]);
    // Their training is not the point here: free the one training thread for the next tests.
    for (const id of [first.body.jobId, burst[0]!.body.jobId]) {
      await http.post(`/jobs/${id}/cancel`);
    }
  });
});

describe("listing jobs", () => {
  it("pages through jobs newest first with a cursor, filtered by model and status", async () => {
    const { http } = server;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await submit(longXorRequest("paged", 2)));

    const seen: Job[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/jobs?model=paged&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await http.get<JobPage>(query);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen.map((j) => j.id).sort()).toEqual([...ids].sort());
    const newestFirst = [...seen].sort((x, y) =>
      x.createdAt === y.createdAt ? (x.id < y.id ? 1 : -1) : x.createdAt < y.createdAt ? 1 : -1,
    );
    expect(seen.map((j) => j.id)).toEqual(newestFirst.map((j) => j.id));

    for (const id of ids) await waitForJob(http, id);
    const succeeded = await http.get<JobPage>("/jobs?model=paged&status=succeeded");
    expect(succeeded.body.items.map((j) => j.id).sort()).toEqual([...ids].sort());
    expect((await http.get<JobPage>("/jobs?model=paged&status=queued")).body.items).toEqual([]);
    expect((await http.get<JobPage>("/jobs?model=no-such-model")).body).toEqual({
      items: [],
      nextCursor: null,
    });

    // Unfiltered, page by page, is every job in the database once.
    const all: string[] = [];
    cursor = null;
    do {
      const page: { body: JobPage } = await http.get<JobPage>(
        `/jobs?limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      );
      all.push(...page.body.items.map((j) => j.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    const { rows } = await db.pool.query<{ id: string }>("SELECT id FROM training_jobs");
    expect(all.sort()).toEqual(rows.map((r) => r.id).sort());
  });
});

describe("epoch metrics", () => {
  it("has every finished epoch in order while the job runs, and all of them after", async () => {
    const { http } = server;
    // Epochs of a few milliseconds, written as they end: long enough to be watched running.
    const total = 400;
    const id = await submit(slowRequest("watched", total));
    const snapshots: number[][] = [];
    await waitFor("the job to finish while watched", async () => {
      const metrics = await http.get<JobMetrics>(`/jobs/${id}/metrics`);
      const job = await http.get<Job>(`/jobs/${id}`);
      if (job.body.status === "running") snapshots.push(metrics.body.epochs.map((e) => e.epoch));
      return job.body.status === "running" || job.body.status === "queued" ? undefined : true;
    });
    const watched = snapshots.filter((epochs) => epochs.length > 0);
    expect(watched.length).toBeGreaterThan(0);
    for (const epochs of watched) expect(epochs).toEqual(epochsUpTo(epochs.length));

    const job = await http.get<Job>(`/jobs/${id}`);
    expect(job.body).toMatchObject({ status: "succeeded", progress: { epoch: total } });
    const metrics = await http.get<JobMetrics>(`/jobs/${id}/metrics`);
    expect(metrics.body.jobId).toBe(id);
    expect(metrics.body.epochs.map((e) => e.epoch)).toEqual(epochsUpTo(total));
    const last = metrics.body.epochs.at(-1)!;
    expect(last).toMatchObject({ loss: expect.any(Number), accuracy: expect.any(Number) });
    expect(job.body.metrics).toMatchObject({ loss: last.loss, accuracy: last.accuracy });
  });
});

describe("readiness", () => {
  it("answers GET /readyz with 200 and every check ok", async () => {
    const ready = await server.http.get<ReadinessReport>("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      ready: true,
      checks: {
        database: { ok: true, latencyMs: expect.any(Number) },
        migrations: { ok: true },
        workerPool: { ok: true },
        shutdown: { ok: true },
        engine: { ok: true, detail: `kernels: ${defaultKernelBackend()}` },
      },
    });
  });
});
