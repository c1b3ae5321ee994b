/**
 * The product's main path, driven as a client drives it: a real `node src/main.ts` process on
 * its own database, spoken to over HTTP with fetch. Train XOR (the contract's request) and a
 * softmax classifier on class-index labels, follow the jobs, predict, and stop on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReadinessReport } from "../../src/platform/readiness-schema.ts";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { Job, JobMetrics } from "../../src/training/jobs/schemas.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import type { Model } from "../../src/versions/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { clustersRequest, XOR_INPUTS, xorRequest } from "../helpers/requests.ts";
import {
  type ServerProcess,
  spawnServer,
  stopSpawnedServers,
  waitForJob,
} from "../helpers/server.ts";

let db: TestDatabase;
let server: ServerProcess;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await spawnServer({ databaseUrl: db.url, env: { WORKERS: "2" } });
});

afterAll(async () => {
  await stopSpawnedServers();
  await db?.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("nnserve as a process, over HTTP", () => {
  it("trains the contract's XOR request and predicts the XOR truth table", async () => {
    const { http } = server;
    const accepted = await http.post<TrainAccepted>("/train", xorRequest());
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({
      jobId: expect.stringMatching(UUID),
      model: "xor",
      version: 1,
      status: "queued",
    });
    const { jobId } = accepted.body;
    expect(accepted.headers.get("location")).toBe(`/jobs/${jobId}`);

    const job = await waitForJob(http, jobId);
    expect(job).toMatchObject({
      id: jobId,
      model: "xor",
      version: 1,
      status: "succeeded",
      attempts: 1,
      error: null,
      cancelRequested: false,
    });
    expect(job.progress.epochs).toBe(500);
    expect(job.progress.epoch).toBeGreaterThan(0);
    expect(job.progress.epoch).toBeLessThanOrEqual(500);
    expect(job.metrics?.accuracy).toBe(1);

    const predicted = await http.post<PredictResponse>("/predict", {
      model: "xor",
      inputs: XOR_INPUTS,
    });
    expect(predicted.status).toBe(200);
    expect(predicted.body.model).toBe("xor");
    expect(predicted.body.version).toBe(1);
    expect(predicted.body.outputs.map(([y]) => Math.round(y!))).toEqual([0, 1, 1, 0]);
    expect(predicted.body.classes).toEqual([0, 1, 1, 0]);

    const metrics = await http.get<JobMetrics>(`/jobs/${jobId}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body.epochs.map((e) => e.epoch)).toEqual(
      Array.from({ length: job.progress.epoch }, (_, i) => i + 1),
    );

    const model = await http.get<Model>("/models/xor");
    expect(model.status).toBe(200);
    expect(model.body).toMatchObject({ name: "xor", latestVersion: 1, versionCount: 1 });
    expect(model.body.versions[0]).toMatchObject({
      version: 1,
      jobId,
      status: "ready",
      loss: "binaryCrossentropy",
      parameters: 2 * 8 + 8 + 8 * 1 + 1,
      seed: 1,
      network: xorRequest().network,
    });
  });

  it("trains a softmax classifier on class-index labels and predicts the classes", async () => {
    const { http } = server;
    const accepted = await http.post<TrainAccepted>("/train", clustersRequest());
    expect(accepted.status).toBe(202);
    const job = await waitForJob(http, accepted.body.jobId);
    expect(job.status).toBe("succeeded");

    // The cluster centres and one point near each, off the training ring.
    const inputs = [
      [0, 0],
      [5, 0],
      [0, 5],
      [0.5, -0.4],
      [5.4, 0.5],
      [-0.3, 4.6],
    ];
    const predicted = await http.post<PredictResponse>("/predict", {
      model: "clusters",
      inputs,
    });
    expect(predicted.status).toBe(200);
    expect(predicted.body.classes).toEqual([0, 1, 2, 0, 1, 2]);
    for (const row of predicted.body.outputs) {
      expect(row).toHaveLength(3);
      expect(row.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 5);
    }
  });

  it("lists both jobs, reports ready with its checks, and exits 0 on SIGTERM", async () => {
    const { http } = server;
    const jobs = await http.get<{ items: Job[] }>("/jobs?status=succeeded");
    expect(jobs.status).toBe(200);
    expect(jobs.body.items.map((j) => j.model)).toEqual(["clusters", "xor"]);

    expect((await http.get("/healthz")).body).toEqual({ status: "ok" });
    const ready = await http.get<ReadinessReport>("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body.ready).toBe(true);
    for (const check of ["database", "migrations", "workerPool", "shutdown"]) {
      expect(ready.body.checks[check]).toMatchObject({ ok: true });
    }

    expect(await server.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(server.logs.some((line) => line.msg === "job runner stopped")).toBe(true);
  });
});

describe("nnserve as a process that cannot start", () => {
  it("exits 1 naming every bad variable of its environment", async () => {
    const start = spawnServer({
      databaseUrl: db.url,
      env: { PORT: "http", JOB_LEASE_MS: "1000", JOB_HEARTBEAT_MS: "5000" },
    });
    const error = await start.then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toContain("exited before it was ready (code 1");
    expect(error?.message).toContain("PORT: must be a whole number");
    expect(error?.message).toContain("JOB_HEARTBEAT_MS: must be less than JOB_LEASE_MS");
  });

  it("exits 1 with the reason when its database does not exist", async () => {
    const missing = new URL(db.url);
    missing.pathname = "/nnserve_no_such_database";
    const error = await spawnServer({ databaseUrl: missing.toString() }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toContain("exited before it was ready (code 1");
    expect(error?.message).toContain("nnserve failed to start");
    expect(error?.message).toContain("nnserve_no_such_database");
  });
});
