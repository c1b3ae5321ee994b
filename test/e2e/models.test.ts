/**
 * Models over HTTP on an in-process server: deletion (everything of the model goes, and its name
 * answers 404), the prediction caches (weights by version, name lookups) never serving a deleted
 * model's weights, explicit versions, and a model deleted while its job trains.
 * PREDICT_INLINE_MAX_ROWS=2 sends 4-row predictions to the worker pool, whose threads keep
 * networks of their own: both caches are exercised.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../src/platform/validation/problem.ts";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { Job } from "../../src/training/jobs/schemas.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import type { Model, ModelList } from "../../src/versions/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { quickXnorRequest, quickXorRequest, slowRequest, XOR_INPUTS } from "../helpers/requests.ts";
import {
  jobRow,
  startTestServer,
  type TestServer,
  waitFor,
  waitForJob,
} from "../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    env: { PREDICT_INLINE_MAX_ROWS: "2", WORKERS: "2" },
  });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

/** Submits and waits for success; returns the job. */
async function train(body: unknown): Promise<Job> {
  const accepted = await server.http.post<TrainAccepted>("/train", body);
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  const job = await waitForJob(server.http, accepted.body.jobId);
  expect(job.status, JSON.stringify(job)).toBe("succeeded");
  return job;
}

/** Classes for the four XOR corners, through the pool (4 rows) and inline (1 row each). */
async function classes(model: string, version?: number) {
  const ask = (inputs: number[][]) =>
    server.http.post<PredictResponse>("/predict", {
      model,
      ...(version === undefined ? {} : { version }),
      inputs,
    });
  const pooled = await ask(XOR_INPUTS);
  expect(pooled.status, JSON.stringify(pooled.body)).toBe(200);
  const inline: number[] = [];
  for (const row of XOR_INPUTS) inline.push((await ask([row])).body.classes![0]!);
  expect(inline).toEqual(pooled.body.classes);
  return { version: pooled.body.version, classes: pooled.body.classes };
}

async function rowsOf(table: string, column: string, ids: string[]) {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE ${column} = ANY($1::uuid[])`,
    [ids],
  );
  return rows[0]!.n;
}

describe("deleting a model", () => {
  it("removes its versions, jobs, examples and metrics; its name then answers 404", async () => {
    const { http } = server;
    const job = await train(quickXorRequest("doomed"));
    expect((await classes("doomed")).classes).toEqual([0, 1, 1, 0]);
    expect(await rowsOf("epoch_metrics", "job_id", [job.id])).toBeGreaterThan(0);

    const deleted = await http.delete("/models/doomed");
    expect(deleted.status).toBe(204);

    for (const [response, what] of [
      [await http.get<Problem>("/models/doomed"), "model"],
      [await http.post<Problem>("/predict", { model: "doomed", inputs: XOR_INPUTS }), "model"],
      [await http.get<Problem>(`/jobs/${job.id}`), "job"],
      [await http.get<Problem>(`/jobs/${job.id}/metrics`), "job"],
      [await http.delete<Problem>("/models/doomed"), "model"],
    ] as const) {
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
      expect(response.body).toMatchObject({
        type: "https://nnserve.dev/problems/not-found",
        code: "NOT_FOUND",
      });
      expect(response.body.detail).toContain(what);
    }
    expect((await http.get<ModelList>("/models")).body.items.map((m) => m.name)).not.toContain(
      "doomed",
    );
    expect(await rowsOf("training_jobs", "id", [job.id])).toBe(0);
    expect(await rowsOf("training_data", "job_id", [job.id])).toBe(0);
    expect(await rowsOf("epoch_metrics", "job_id", [job.id])).toBe(0);
    const { rows } = await db.pool.query("SELECT 1 FROM models WHERE name = 'doomed'");
    expect(rows).toEqual([]);
  });

  it("predicts with the new weights when a deleted model is trained again under its name", async () => {
    const { http } = server;
    await train(quickXorRequest("flip"));
    expect(await classes("flip")).toEqual({ version: 1, classes: [0, 1, 1, 0] });
    expect(await classes("flip", 1)).toEqual({ version: 1, classes: [0, 1, 1, 0] });

    expect((await http.delete("/models/flip")).status).toBe(204);
    await train(quickXnorRequest("flip"));
    // Version 1 again, of a new model: its weights, not the cached ones of the old version 1.
    expect(await classes("flip")).toEqual({ version: 1, classes: [1, 0, 0, 1] });
    expect(await classes("flip", 1)).toEqual({ version: 1, classes: [1, 0, 0, 1] });
  });

  it("stops a job whose model is deleted while it trains", async () => {
    const { http } = server;
    const accepted = await http.post<TrainAccepted>(
      "/train",
      slowRequest("deleted-mid-way", 2_000),
    );
    const id = accepted.body.jobId;
    await waitForJob(http, id, (job) => job.status === "running" && job.progress.epoch >= 2);

    expect((await http.delete("/models/deleted-mid-way")).status).toBe(204);
    await waitFor("the runner to give the job up", async () =>
      server.logs.some((l) => typeof l.end === "string" && l.jobId === id) ? true : undefined,
    );
    const end = server.logs.find((l) => typeof l.end === "string" && l.jobId === id);
    expect(end?.end).toBe("lost");
    expect(await jobRow(db.pool, id)).toBeUndefined();
    expect(await rowsOf("epoch_metrics", "job_id", [id])).toBe(0);
    expect((await http.get(`/jobs/${id}`)).status).toBe(404);
  });
});

describe("versions", () => {
  it("predicts the newest ready version by default, and any trained version when asked", async () => {
    const { http } = server;
    await train(quickXorRequest("versioned"));
    await train(quickXnorRequest("versioned"));

    expect(await classes("versioned")).toEqual({ version: 2, classes: [1, 0, 0, 1] });
    expect(await classes("versioned", 1)).toEqual({ version: 1, classes: [0, 1, 1, 0] });
    expect(await classes("versioned", 2)).toEqual({ version: 2, classes: [1, 0, 0, 1] });

    const missing = await http.post<Problem>("/predict", {
      model: "versioned",
      version: 3,
      inputs: XOR_INPUTS,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("NOT_FOUND");

    const model = await http.get<Model>("/models/versioned");
    expect(model.body).toMatchObject({ latestVersion: 2, versionCount: 2 });
    expect(model.body.versions.map((v) => [v.version, v.status])).toEqual([
      [1, "ready"],
      [2, "ready"],
    ]);
  });

  it("answers 409 for a version that has not finished training", async () => {
    const { http } = server;
    await train(quickXorRequest("unfinished"));
    const accepted = await http.post<TrainAccepted>("/train", slowRequest("unfinished", 2_000));
    const id = accepted.body.jobId;
    const asked = await http.post<Problem>("/predict", {
      model: "unfinished",
      version: 2,
      inputs: [[0, 1]],
    });
    expect(asked.status).toBe(409);
    expect(asked.body.code).toBe("CONFLICT");
    // Unversioned requests keep using the newest ready version meanwhile.
    expect(await classes("unfinished")).toEqual({ version: 1, classes: [0, 1, 1, 0] });
    await http.post(`/jobs/${id}/cancel`);
    await waitForJob(http, id);
  });
});

describe("the /predict body reader", () => {
  it("answers a body read as packed rows exactly as the same body parsed and checked by the schema", async () => {
    const { http } = server;
    await train(quickXorRequest("packed"));
    const rows = "[[0, 1], [1.25e-1, 0.99999999999999999], [-0, 1e2], [0.3333333333333333, 7]]";
    // The escaped key spells "model" too, but only JSON.parse reads escapes.
    const bodies = [
      `{"model": "packed", "inputs": ${rows}}`,
      `{"\\u006dodel": "packed", "inputs": ${rows}}`,
    ];
    const [packed, parsed] = await Promise.all(
      bodies.map((body) =>
        http.request<PredictResponse>("POST", "/predict", {
          body,
          headers: { "content-type": "application/json" },
        }),
      ),
    );
    expect(packed!.status, JSON.stringify(packed!.body)).toBe(200);
    expect(packed!.body).toEqual(parsed!.body);
    expect(packed!.body.outputs).toHaveLength(4);

    // Refusals name the same fields both ways.
    const wide = "[[0, 1, 2], [1, 0, 2]]";
    const refusals = await Promise.all(
      [
        `{"model": "packed", "inputs": ${wide}}`,
        `{"\\u006dodel": "packed", "inputs": ${wide}}`,
      ].map((body) =>
        http.request<Problem>("POST", "/predict", {
          body,
          headers: { "content-type": "application/json" },
        }),
      ),
    );
    expect(refusals.map((r) => r.status)).toEqual([400, 400]);
    expect(refusals[0]!.body.errors).toEqual(refusals[1]!.body.errors);
    expect(refusals[0]!.body.errors?.map((e) => e.path)).toEqual(["inputs[0]", "inputs[1]"]);
  });
});
