/**
 * Several nnserve processes on one database, as in production: the queue gives each job to
 * exactly one of them, and a process that dies mid-training loses its job to another only
 * through the lease (JOB_LEASE_MS = 1.5 s here), which then trains it again or, out of
 * attempts, fails it. No job is ever left running.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { Job } from "../../src/training/jobs/schemas.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import type { Model } from "../../src/versions/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import {
  longXorRequest,
  quickXnorRequest,
  quickXorRequest,
  slowRequest,
  XOR_INPUTS,
} from "../helpers/requests.ts";
import {
  jobRow,
  type ServerProcess,
  spawnServer,
  stopSpawnedServers,
  waitFor,
  waitForJob,
} from "../helpers/server.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await stopSpawnedServers();
  await db?.close();
});

const ended = (server: ServerProcess) => server.logs.filter((line) => typeof line.end === "string");

describe("two server processes on one database", () => {
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([
      spawnServer({ databaseUrl: db.url }),
      spawnServer({ databaseUrl: db.url }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a?.kill("SIGTERM"), b?.kill("SIGTERM")]);
  });

  it("run each of 20 jobs exactly once, and both processes take work", async () => {
    expect(a.workerId).not.toBe(b.workerId);

    // Submitted through both processes at once, all for one model: versions 1..20, no gaps.
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).http.post<TrainAccepted>("/train", longXorRequest("shared", 20)),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(responses.map((r) => r.body.version).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const ids = responses.map((r) => r.body.jobId);

    await waitFor("every job to finish", async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM training_jobs WHERE status IN ('succeeded', 'failed', 'cancelled')",
      );
      return rows[0]!.n === 20 ? true : undefined;
    });

    const { rows } = await db.pool.query<{
      id: string;
      status: string;
      attempts: number;
      lease_owner: string;
      epochs_recorded: number;
    }>(`SELECT j.id, j.status, j.attempts, j.lease_owner,
               (SELECT count(*)::int FROM epoch_metrics m WHERE m.job_id = j.id) AS epochs_recorded
          FROM training_jobs j`);
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    for (const row of rows) {
      expect(row).toMatchObject({ status: "succeeded", attempts: 1, epochs_recorded: 20 });
      expect([a.workerId, b.workerId]).toContain(row.lease_owner);
    }
    const owners = new Set(rows.map((r) => r.lease_owner));
    expect(owners).toEqual(new Set([a.workerId, b.workerId]));

    // Each process's own account: every job ended once, in one process, as succeeded.
    await waitFor("both logs to show every job's end", async () =>
      ended(a).length + ended(b).length >= 20 ? true : undefined,
    );
    const ends = [...ended(a), ...ended(b)];
    expect(ends.map((line) => line.jobId).sort()).toEqual([...ids].sort());
    expect(new Set(ends.map((line) => line.end))).toEqual(new Set(["succeeded"]));
    for (const row of rows) {
      const owner = row.lease_owner === a.workerId ? a : b;
      expect(ended(owner).some((line) => line.jobId === row.id)).toBe(true);
    }

    // An operator reads in each process's log which jobs it claimed, started and finished, and
    // sees the same process on the job itself.
    const versionOf = new Map(responses.map((r) => [r.body.jobId, r.body.version]));
    for (const row of rows) {
      const [owner, other] = row.lease_owner === a.workerId ? [a, b] : [b, a];
      for (const msg of ["job claimed", "job started", "job succeeded"]) {
        const lines = owner.logs.filter((line) => line.msg === msg && line.jobId === row.id);
        expect(lines, `${msg} ${row.id}`).toHaveLength(1);
        expect(lines[0]).toMatchObject({
          level: 30,
          attempt: 1,
          model: "shared",
          version: versionOf.get(row.id),
          workerId: owner.workerId,
        });
        expect(other.logs.some((line) => line.msg === msg && line.jobId === row.id)).toBe(false);
      }
      const job = await other.http.get<Job>(`/jobs/${row.id}`);
      expect(job.body.worker).toBe(owner.workerId);
    }
  });

  it("serve a model deleted and trained again through the other one with its new weights", async () => {
    // Each process reuses name -> version lookups for PREDICT_RESOLVE_TTL_MS (1 s by default),
    // so the other replica may answer with the old version for that long, never longer.
    await train(a, quickXorRequest("across"));
    const ask = () =>
      b.http.post<PredictResponse>("/predict", { model: "across", inputs: XOR_INPUTS });
    expect((await ask()).body.classes).toEqual([0, 1, 1, 0]);

    expect((await a.http.delete("/models/across")).status).toBe(204);
    await waitFor("the other process to forget the deleted model", async () =>
      (await ask()).status === 404 ? true : undefined,
    );
    await train(a, quickXnorRequest("across"));
    const answer = await waitFor("the other process to serve the new version 1", async () => {
      const response = await ask();
      return response.status === 200 ? response.body : undefined;
    });
    expect(answer).toMatchObject({ version: 1, classes: [1, 0, 0, 1] });
  });
});

async function train(server: ServerProcess, body: unknown) {
  const accepted = await server.http.post<TrainAccepted>("/train", body);
  expect(accepted.status).toBe(202);
  expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");
}

describe("a server process killed (SIGKILL) mid-training", () => {
  /** Epochs of a few milliseconds each in the thread: the kill lands while it trains. */
  const EPOCHS = 80;

  /** Starts a process, submits a long job through it, and kills it once the job has epochs. */
  async function killMidTraining(model: string, env: Record<string, string> = {}) {
    const doomed = await spawnServer({ databaseUrl: db.url, env });
    const accepted = await doomed.http.post<TrainAccepted>("/train", slowRequest(model, EPOCHS));
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.jobId;
    await waitFor("the job to be training in the doomed process", async () => {
      const row = await jobRow(db.pool, jobId);
      return row?.status === "running" && row.epoch >= 1 ? row : undefined;
    });
    expect(await doomed.kill("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });

    // Nobody released it: it is still running, leased to the dead process.
    const orphan = await jobRow(db.pool, jobId);
    expect(orphan).toMatchObject({ status: "running", attempts: 1, lease_owner: doomed.workerId });
    expect(orphan!.epoch).toBeLessThan(EPOCHS);
    return { jobId, doomed };
  }

  it("leaves its job to another process, which reclaims it after the lease and finishes it", async () => {
    const { jobId, doomed } = await killMidTraining("crash-recovered");

    const rescuer = await spawnServer({ databaseUrl: db.url });
    const job = await waitForJob(rescuer.http, jobId, undefined, 30_000);
    expect(job).toMatchObject({
      status: "succeeded",
      attempts: 2,
      error: null,
      progress: { epoch: EPOCHS, epochs: EPOCHS },
    });
    const row = await jobRow(db.pool, jobId);
    expect(row!.lease_owner).toBe(rescuer.workerId);
    expect(row!.lease_owner).not.toBe(doomed.workerId);
    const reclaimed = rescuer.logs.find(
      (l) => l.msg === "job lease expired; reclaimed" && l.jobId === jobId,
    );
    expect(reclaimed).toMatchObject({
      attempt: 1,
      model: "crash-recovered",
      version: 1,
      status: "queued",
      previousWorker: doomed.workerId,
      workerId: rescuer.workerId,
    });
    expect(job.worker).toBe(rescuer.workerId);

    // The second attempt trained from scratch: one row per epoch, none left over.
    const { rows } = await db.pool.query<{ epoch: number }>(
      "SELECT epoch FROM epoch_metrics WHERE job_id = $1 ORDER BY epoch",
      [jobId],
    );
    expect(rows.map((r) => r.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));

    const predicted = await rescuer.http.post<PredictResponse>("/predict", {
      model: "crash-recovered",
      inputs: XOR_INPUTS,
    });
    expect(predicted.status).toBe(200);
    expect(predicted.body).toMatchObject({ model: "crash-recovered", version: 1 });
    expect(predicted.body.classes).toHaveLength(4);
    await rescuer.kill("SIGTERM");
  });

  it("fails its job after the maximum attempts (JOB_MAX_ATTEMPTS=1), never leaving it running", async () => {
    const { jobId } = await killMidTraining("crash-failed", { JOB_MAX_ATTEMPTS: "1" });

    const survivor = await spawnServer({ databaseUrl: db.url });
    const job = await waitForJob(survivor.http, jobId, undefined, 30_000);
    expect(job).toMatchObject({
      status: "failed",
      attempts: 1,
      error: "lease expired after 1 attempts",
      finishedAt: expect.any(String),
    });
    expect((await jobRow(db.pool, jobId))!.lease_expires_at).toBeNull();
    // The survivor never started it: the one attempt is the dead process's.
    expect(survivor.logs.some((l) => l.msg === "job started" && l.jobId === jobId)).toBe(false);

    const model = await survivor.http.get<Model>("/models/crash-failed");
    expect(model.body.versions.map((v) => v.status)).toEqual(["failed"]);
    expect(model.body.latestVersion).toBeNull();
    const predicted = await survivor.http.post("/predict", {
      model: "crash-failed",
      inputs: XOR_INPUTS,
    });
    expect(predicted.status).toBe(409);
    const listed = await survivor.http.get<{ items: Job[] }>("/jobs?status=running");
    expect(listed.body.items).toEqual([]);
    await survivor.kill("SIGTERM");
  });
});

describe("a server process stopped (SIGTERM) mid-training", () => {
  it("hands its job back to the queue without using up an attempt, and exits 0", async () => {
    // SHUTDOWN_GRACE_MS=0: running jobs are stopped between batches and released at once.
    const leaving = await spawnServer({ databaseUrl: db.url });
    const accepted = await leaving.http.post<TrainAccepted>(
      "/train",
      slowRequest("handed-back", 400),
    );
    const jobId = accepted.body.jobId;
    await waitFor("the job to be training", async () => {
      const row = await jobRow(db.pool, jobId);
      return row?.status === "running" && row.epoch >= 1 ? row : undefined;
    });
    expect(await leaving.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(await jobRow(db.pool, jobId)).toMatchObject({
      status: "queued",
      attempts: 0,
      lease_owner: null,
      lease_expires_at: null,
    });
    const end = leaving.logs.find((l) => typeof l.end === "string" && l.jobId === jobId);
    expect(end?.end).toBe("released");
  });
});
