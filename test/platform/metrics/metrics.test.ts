/**
 * GET /metrics on whole in-process servers (real Postgres): the named series are exposed, their
 * values move when requests are made and jobs run, each server counts only its own traffic, and
 * concurrent predictions coalesced by the batcher each get their own rows back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultKernelBackend } from "../../../src/engine/index.ts";
import type { PredictResponse } from "../../../src/prediction/request.ts";
import type { TrainAccepted } from "../../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { clustersRequest } from "../../helpers/requests.ts";
import { startTestServer, type TestServer, waitForJob } from "../../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;
let other: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url, env: { BATCH_MAX_DELAY_US: "20000" } });
  // A second server in the same process, on the same database, taking no jobs.
  other = await startTestServer({ databaseUrl: db.url, runJobs: false });
  const response = await server.http.post<TrainAccepted>("/train", clustersRequest("clusters"));
  expect(response.status).toBe(202);
  await waitForJob(server.http, response.body.jobId, (job) => job.status === "succeeded");
});

afterAll(async () => {
  await other?.close();
  await server?.close();
  await db?.close();
});

/** The samples of a scrape: `name{labels}` -> value. */
async function scrape(target: TestServer): Promise<Map<string, number>> {
  const response = await fetch(`${target.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const value = (samples: Map<string, number>, key: string) => samples.get(key) ?? 0;

async function predict(target: TestServer, inputs: number[][]): Promise<PredictResponse> {
  const response = await target.http.post<PredictResponse>("/predict", {
    model: "clusters",
    inputs,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

describe("GET /metrics", () => {
  it("exposes the named series in the Prometheus text format", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      "nnserve_http_requests_total",
      "nnserve_http_request_duration_seconds",
      "nnserve_inference_requests_total",
      "nnserve_inference_rows_total",
      "nnserve_inference_duration_seconds",
      "nnserve_inference_batch_size_rows",
      "nnserve_inference_batch_requests",
      "nnserve_inference_queue_seconds",
      "nnserve_training_jobs",
      "nnserve_training_queue_depth",
      "nnserve_training_job_attempts_total",
      "nnserve_training_epochs_total",
      "nnserve_training_samples_total",
      "nnserve_training_samples_per_second",
      "nnserve_worker_pool_utilization_ratio",
      "nnserve_worker_pool_threads",
      "nnserve_worker_pool_busy_threads",
      "nodejs_eventloop_lag_seconds",
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
  });

  it("names the engine's kernel backend (native-avx512, relaxed, ...) with a 1", async () => {
    const samples = await scrape(server);
    const backends = [...samples.keys()].filter((k) => k.startsWith("nnserve_engine_backend{"));
    expect(backends).toEqual([`nnserve_engine_backend{backend="${defaultKernelBackend()}"}`]);
    expect(value(samples, backends[0]!)).toBe(1);
  });

  it("counts HTTP requests by route pattern, method and status, with their latency", async () => {
    const key = 'nnserve_http_requests_total{method="GET",route="/jobs/:id",status_code="404"}';
    const before = await scrape(server);
    const missing = "00000000-0000-4000-8000-000000000000";
    await server.http.get(`/jobs/${missing}`);
    await server.http.get(`/jobs/${missing}`);
    const after = await scrape(server);
    expect(value(after, key) - value(before, key)).toBe(2);
    const count =
      'nnserve_http_request_duration_seconds_count{method="GET",route="/jobs/:id",status_code="404"}';
    expect(value(after, count) - value(before, count)).toBe(2);
    // Paths no route matches share one label value, whatever the URL.
    await server.http.get("/no/such/path/123");
    const unmatched = await scrape(server);
    expect(
      value(
        unmatched,
        'nnserve_http_requests_total{method="GET",route="unmatched",status_code="404"}',
      ),
    ).toBeGreaterThanOrEqual(1);
  });

  it("counts inferences, rows, latency and forward passes per model", async () => {
    const before = await scrape(server);
    await predict(server, [
      [0, 0],
      [5, 0],
    ]);
    await predict(server, [[0, 5]]);
    const after = await scrape(server);
    const delta = (key: string) => value(after, key) - value(before, key);
    expect(delta('nnserve_inference_requests_total{model="clusters",outcome="ok"}')).toBe(2);
    expect(delta('nnserve_inference_rows_total{model="clusters"}')).toBe(3);
    expect(delta('nnserve_inference_duration_seconds_count{model="clusters"}')).toBe(2);
    expect(delta("nnserve_inference_batch_size_rows_sum")).toBe(3);
    expect(delta("nnserve_inference_queue_seconds_count")).toBe(2);

    // Rows of the wrong width for a known model: an error for that model, no rows counted.
    const wrong = await server.http.post("/predict", { model: "clusters", inputs: [[1, 2, 3]] });
    expect(wrong.status).toBe(400);
    const failed = await scrape(server);
    expect(
      value(failed, 'nnserve_inference_requests_total{model="clusters",outcome="error"}') -
        value(after, 'nnserve_inference_requests_total{model="clusters",outcome="error"}'),
    ).toBe(1);
    expect(value(failed, 'nnserve_inference_rows_total{model="clusters"}')).toBe(
      value(after, 'nnserve_inference_rows_total{model="clusters"}'),
    );
  });

  it("reports training: jobs by status from Postgres, epochs and samples run here", async () => {
    const samples = await scrape(server);
    expect(value(samples, 'nnserve_training_jobs{status="succeeded"}')).toBeGreaterThanOrEqual(1);
    expect(samples.has('nnserve_training_jobs{status="queued"}')).toBe(true);
    expect(samples.has("nnserve_training_queue_depth")).toBe(true);
    // clustersRequest trains 150 epochs over 36 rows.
    expect(value(samples, "nnserve_training_epochs_total")).toBe(150);
    expect(value(samples, "nnserve_training_samples_total")).toBe(150 * 36);
    expect(value(samples, 'nnserve_training_job_attempts_total{outcome="succeeded"}')).toBe(1);
    expect(value(samples, 'nnserve_worker_pool_threads{pool="training"}')).toBe(1);
  });

  it("keeps each server's counts apart, while both read the shared job table", async () => {
    const before = await scrape(other);
    await predict(server, [[1, 1]]);
    const after = await scrape(other);
    const key = 'nnserve_inference_requests_total{model="clusters",outcome="ok"}';
    expect(value(after, key)).toBe(value(before, key));
    expect(value(after, "nnserve_training_epochs_total")).toBe(0);
    expect(value(after, 'nnserve_training_jobs{status="succeeded"}')).toBeGreaterThanOrEqual(1);
  });

  it("is absent with METRICS=false", async () => {
    const quiet = await startTestServer({
      databaseUrl: db.url,
      runJobs: false,
      env: { METRICS: "false" },
    });
    try {
      expect((await quiet.http.get("/metrics")).status).toBe(404);
      expect(quiet.metrics).toBeUndefined();
    } finally {
      await quiet.close();
    }
  });
});

describe("dynamic batching through the service", () => {
  it("gives each of many concurrent callers exactly its own rows' outputs, in order", async () => {
    const callers = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 1 + (i % 3) }, (_, r) => [i * 0.1 + r, 5 - i * 0.1 - r]),
    );
    // One by one first: no batching possible, the reference answers.
    const alone: PredictResponse[] = [];
    for (const rows of callers) alone.push(await predict(other, rows));

    const before = await scrape(server);
    const together = await Promise.all(callers.map((rows) => predict(server, rows)));
    const after = await scrape(server);
    for (let i = 0; i < callers.length; i++) {
      expect(together[i]!.outputs, `caller ${i}`).toEqual(alone[i]!.outputs);
      expect(together[i]!.classes, `caller ${i}`).toEqual(alone[i]!.classes);
    }
    const rows = callers.reduce((n, c) => n + c.length, 0);
    expect(
      value(after, "nnserve_inference_batch_size_rows_sum") -
        value(before, "nnserve_inference_batch_size_rows_sum"),
    ).toBe(rows);
    expect(
      value(after, "nnserve_inference_batch_requests_sum") -
        value(before, "nnserve_inference_batch_requests_sum"),
    ).toBe(callers.length);
  });
});
