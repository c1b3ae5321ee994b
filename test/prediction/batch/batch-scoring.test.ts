/**
 * Batch scoring on an in-process server and a real database: a stored dataset scored by a
 * version with preprocessing gives, row for row, what POST /predict gives; results stream as
 * NDJSON and CSV (quoted), passthrough columns first; a dataset that does not fit the version
 * is refused with field paths and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Dataset } from "../../../src/datasets/schemas.ts";
import type { Problem } from "../../../src/platform/validation/problem.ts";
import type { BatchPrediction } from "../../../src/prediction/batch/schemas.ts";
import type { PredictResponse } from "../../../src/prediction/request.ts";
import type { TrainAccepted } from "../../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { uploadCsv } from "../../helpers/datasets.ts";
import { put } from "../../helpers/lifecycle.ts";
import { startTestServer, type TestServer, waitFor, waitForJob } from "../../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  // 7-row chunks: the 45 rows below make six full chunks and a partial one.
  server = await startTestServer({ databaseUrl: db.url, env: { SCORING_CHUNK_ROWS: "7" } });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

/** 45 customers: an id (one with a comma and a quote), two features, the target. */
function churnCsv(): string {
  const lines = ["customer_id,tenure,plan,churned"];
  for (let i = 0; i < 45; i++) {
    const id = i === 3 ? '"c-3, ""vip"""' : `c-${i}`;
    const tenure = (i * 7) % 50;
    const plan = ["basic", "pro", "team"][i % 3];
    lines.push(`${id},${tenure},${plan},${tenure < 20 ? "yes" : "no"}`);
  }
  return `${lines.join("\n")}\n`;
}

const rowsOf = (csv: string) =>
  csv
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [tenure, plan] = line.split(",").slice(-3, -1);
      return { tenure: Number(tenure), plan: plan! };
    });

/** A results stream as text (the test client would parse NDJSON as one JSON document). */
async function text(path: string, accept = "application/x-ndjson") {
  const response = await fetch(`${server.url}${path}`, { headers: { accept } });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

async function poll(id: string): Promise<BatchPrediction> {
  return waitFor(`batch ${id}`, async () => {
    const r = await server.http.get<BatchPrediction>(`/batch-predictions/${id}`);
    return r.body.status === "succeeded" || r.body.status === "failed" ? r.body : undefined;
  });
}

describe("batch scoring of a stored dataset", () => {
  let dataset: Dataset;
  let version: number;

  beforeAll(async () => {
    dataset = await uploadCsv(server.url, "churn", churnCsv());
    const accepted = await server.http.post<TrainAccepted>("/train", {
      model: "churn",
      dataset: dataset.id,
      target: "churned",
      features: ["tenure", "plan"],
      network: {
        layers: [
          { units: 6, activation: "tanh" },
          { units: 2, activation: "softmax" },
        ],
      },
      loss: "sparseCategoricalCrossentropy",
      optimizer: { name: "adam", learningRate: 0.05 },
      training: { epochs: 30, batchSize: 8, seed: 3 },
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");
    version = accepted.body.version;
  });

  it("scores every row as /predict does, passthrough columns first, in dataset order", async () => {
    const started = await server.http.post<BatchPrediction>("/models/churn/batch-predictions", {
      dataset: dataset.id,
      version,
      passthrough: ["customer_id", "churned"],
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.headers.get("location")).toBe(`/batch-predictions/${started.body.id}`);
    expect(started.body).toMatchObject({ status: "queued", totalRows: 45, chunkRows: 7 });
    const done = await poll(started.body.id);
    expect(done).toMatchObject({ status: "succeeded", rowsDone: 45, totalRows: 45, error: null });

    const ndjson = await text(`/batch-predictions/${done.id}/results`);
    expect(ndjson.status).toBe(200);
    expect(ndjson.headers.get("content-type")).toContain("application/x-ndjson");
    const records = ndjson.body
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toHaveLength(45);
    expect(Object.keys(records[0]!)).toEqual(["customer_id", "churned", "label", "probabilities"]);
    expect(records.map((r) => r.customer_id)).toEqual(
      Array.from({ length: 45 }, (_, i) => (i === 3 ? 'c-3, "vip"' : `c-${i}`)),
    );

    const predicted = await server.http.post<PredictResponse>("/predict", {
      model: "churn",
      version,
      inputs: rowsOf(churnCsv()),
    });
    expect(predicted.status).toBe(200);
    const predictions = predicted.body.predictions as {
      label: string;
      probabilities: Record<string, number>;
    }[];
    records.forEach((record, i) => {
      expect(record.label).toBe(predictions[i]!.label);
      const p = record.probabilities as Record<string, number>;
      for (const [cls, value] of Object.entries(predictions[i]!.probabilities))
        expect(p[cls]).toBeCloseTo(value, 6);
    });

    const { rows } = await db.pool.query(
      "SELECT chunk, rows FROM batch_prediction_chunks WHERE batch_id = $1 ORDER BY chunk",
      [done.id],
    );
    expect(rows).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((chunk) => ({ chunk, rows: chunk < 6 ? 7 : 3 })),
    );
  });

  it("streams CSV with a header row and RFC 4180 quoting when asked for text/csv", async () => {
    const started = await server.http.post<BatchPrediction>("/models/churn/batch-predictions", {
      dataset: dataset.id,
      passthrough: ["customer_id"],
      ignoreExtraColumns: true,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await poll(started.body.id);
    const csv = await text(`/batch-predictions/${started.body.id}/results`, "text/csv");
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = csv.body.split("\r\n");
    expect(lines[0]).toBe("customer_id,label,probability_no,probability_yes");
    expect(lines).toHaveLength(47); // header, 45 rows, the empty string after the last CRLF
    expect(lines[4]).toMatch(/^"c-3, ""vip""",(yes|no),[0-9.e-]+,[0-9.e-]+$/);
    const ndjson = await text(`/batch-predictions/${started.body.id}/results`);
    const first = JSON.parse(ndjson.body.split("\n")[0]!) as {
      label: string;
      probabilities: Record<string, number>;
    };
    expect(lines[1]).toBe(
      `c-0,${first.label},${first.probabilities.no},${first.probabilities.yes}`,
    );
  });

  it("adds attributions to each row with explain, as /predict explains it", async () => {
    const started = await server.http.post<BatchPrediction>("/models/churn/batch-predictions", {
      dataset: dataset.id,
      passthrough: ["customer_id"],
      ignoreExtraColumns: true,
      explain: true,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect((await poll(started.body.id)).status).toBe("succeeded");
    const ndjson = await text(`/batch-predictions/${started.body.id}/results`);
    const records = ndjson.body
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { attributions: Record<string, number> });
    expect(records).toHaveLength(45);
    const explained = await server.http.post<PredictResponse>("/predict", {
      model: "churn",
      inputs: rowsOf(churnCsv()).slice(0, 3),
      explain: true,
    });
    expect(explained.status).toBe(200);
    explained.body.explanations!.forEach((e, i) => {
      const attributions = e.attributions as Record<string, number>;
      expect(Object.keys(records[i]!.attributions)).toEqual(["tenure", "plan"]);
      for (const key of ["tenure", "plan"])
        expect(records[i]!.attributions[key]).toBeCloseTo(attributions[key]!, 6);
    });
    const csv = await text(`/batch-predictions/${started.body.id}/results`, "text/csv");
    expect(csv.body.split("\r\n")[0]).toBe(
      "customer_id,label,probability_no,probability_yes,attribution_tenure,attribution_plan",
    );
  });

  it("refuses a dataset that does not fit, naming the field, and writes nothing", async () => {
    const before = await db.pool.query("SELECT count(*)::int AS n FROM batch_predictions");
    const extra = await server.http.post<Problem>("/models/churn/batch-predictions", {
      dataset: dataset.id,
      passthrough: ["customer_id"],
    });
    expect(extra.status).toBe(400);
    expect(extra.headers.get("content-type")).toContain("application/problem+json");
    expect(extra.body.errors).toEqual([
      { path: "dataset", message: expect.stringContaining("churned; name them in passthrough") },
    ]);

    const unknown = await server.http.post<Problem>("/models/churn/batch-predictions", {
      dataset: dataset.id,
      passthrough: ["account"],
      ignoreExtraColumns: true,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      { path: "passthrough[0]", message: expect.stringContaining('"account" is not a column') },
    ]);

    const other = await uploadCsv(server.url, "no-plan", "customer_id,tenure\nc-1,4\n");
    const missing = await server.http.post<Problem>("/models/churn/batch-predictions", {
      dataset: other.id,
      ignoreExtraColumns: true,
    });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([
      { path: "dataset", message: expect.stringContaining('has no column "plan"') },
    ]);

    const noDataset = await server.http.post<Problem>("/models/churn/batch-predictions", {
      dataset: "00000000-0000-4000-8000-000000000000",
    });
    expect(noDataset.status).toBe(404);
    const noModel = await server.http.post<Problem>("/models/nope/batch-predictions", {
      dataset: dataset.id,
    });
    expect(noModel.status).toBe(404);
    const after = await db.pool.query("SELECT count(*)::int AS n FROM batch_predictions");
    expect(after.rows[0].n).toBe(before.rows[0].n);
    expect(
      (await server.http.get("/batch-predictions/00000000-0000-4000-8000-000000000000")).status,
    ).toBe(404);
  });

  it("scores a CSV uploaded with the request, and keeps nothing of a refused one", async () => {
    const datasets = async () =>
      (await db.pool.query("SELECT count(*)::int AS n FROM datasets")).rows[0].n as number;
    const before = await datasets();
    const refused = await fetch(`${server.url}/models/churn/batch-predictions?passthrough=nope`, {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: "id,tenure,plan\nx,3,basic\n",
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as Problem).errors![0]!.path).toBe("passthrough[0]");
    expect(await datasets()).toBe(before);

    const response = await fetch(`${server.url}/models/churn/batch-predictions?passthrough=id`, {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: 'id,tenure,plan\n"a,1",3,basic\nb,40,team\n',
    });
    const job = (await response.json()) as BatchPrediction;
    expect(response.status, JSON.stringify(job)).toBe(202);
    expect(job.totalRows).toBe(2);
    expect((await poll(job.id)).status).toBe("succeeded");
    const csv = await text(`/batch-predictions/${job.id}/results`, "text/csv");
    const lines = csv.body.split("\r\n");
    expect(lines[0]).toBe("id,label,probability_no,probability_yes");
    expect(lines[1]).toMatch(/^"a,1",(yes|no),/);
  });

  it("documents the operate routes in the OpenAPI document", async () => {
    const doc = (await server.http.get<{ paths: Record<string, object> }>("/docs/json")).body;
    for (const path of [
      "/models/{name}/batch-predictions",
      "/batch-predictions/{id}",
      "/batch-predictions/{id}/results",
      "/models/{name}/versions/{version}/drift",
      "/models/{name}/feedback",
      "/models/{name}/versions/{version}/performance",
    ])
      expect(doc.paths[path], path).toBeDefined();
  });

  it("fails a job on a row the version refuses, naming the dataset row", async () => {
    const gaps = await uploadCsv(
      server.url,
      "gaps",
      "tenure,plan\n3,basic\n5,pro\n7,\n",
      "&types=tenure:numeric,plan:categorical",
    );
    const started = await server.http.post<BatchPrediction>("/models/churn/batch-predictions", {
      dataset: gaps.id,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await poll(started.body.id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/^rows\[2\]\.plan is missing/);
    const results = await server.http.get<Problem>(`/batch-predictions/${done.id}/results`);
    expect(results.status).toBe(409);
  });

  it("scores with the alias production's version when none is named, or with the alias it names", async () => {
    // A second version, newer than the one production will name.
    const again = await server.http.post<TrainAccepted>("/train", {
      model: "churn",
      dataset: dataset.id,
      target: "churned",
      features: ["tenure", "plan"],
      network: { layers: [{ units: 2, activation: "softmax" }] },
      loss: "sparseCategoricalCrossentropy",
      training: { epochs: 2, seed: 4 },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect((await waitForJob(server.http, again.body.jobId)).status).toBe("succeeded");
    const newer = again.body.version;
    expect(newer).toBeGreaterThan(version);
    const promoted = await put(server.http, `/models/churn/aliases/production`, {
      version,
      reason: "the batch test's reviewed version",
    });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    const staged = await put(server.http, `/models/churn/aliases/staging`, { version: newer });
    expect(staged.status, JSON.stringify(staged.body)).toBe(200);

    const unnamed = await server.http.post<BatchPrediction>("/models/churn/batch-predictions", {
      dataset: dataset.id,
      ignoreExtraColumns: true,
    });
    expect(unnamed.status, JSON.stringify(unnamed.body)).toBe(202);
    expect(unnamed.body.version).toBe(version);
    const byAlias = await server.http.post<BatchPrediction>("/models/churn/batch-predictions", {
      dataset: dataset.id,
      alias: "staging",
      ignoreExtraColumns: true,
    });
    expect(byAlias.status, JSON.stringify(byAlias.body)).toBe(202);
    expect(byAlias.body.version).toBe(newer);
    expect((await poll(byAlias.body.id)).status).toBe("succeeded");

    const before = await db.pool.query("SELECT count(*)::int AS n FROM batch_predictions");
    const unknown = await server.http.post<Problem>("/models/churn/batch-predictions", {
      dataset: dataset.id,
      alias: "canary",
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors).toEqual([{ path: "alias", message: expect.any(String) }]);
    const both = await server.http.post<Problem>("/models/churn/batch-predictions", {
      dataset: dataset.id,
      version,
      alias: "staging",
    });
    expect(both.status).toBe(400);
    expect(both.body.errors?.[0]?.path).toBe("alias");
    const after = await db.pool.query("SELECT count(*)::int AS n FROM batch_predictions");
    expect(after.rows[0].n).toBe(before.rows[0].n);
    // The rest of this file names its version or relies on the newest: leave no alias behind.
    expect((await server.http.delete("/models/churn/aliases/production")).status).toBe(204);
    expect((await server.http.delete("/models/churn/aliases/staging")).status).toBe(204);
  });
});
