/**
 * POST /predict with rows as a table: a text/csv body (quoted fields, a header row), rows that
 * still carry the target and an id (passthrough / ignoreExtraColumns), and CSV answers for a
 * client that accepts text/csv. The answers equal those of plain JSON rows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../../src/platform/validation/problem.ts";
import type { PredictResponse } from "../../../src/prediction/request.ts";
import type { TrainAccepted } from "../../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { uploadCsv } from "../../helpers/datasets.ts";
import { startTestServer, type TestServer, waitForJob } from "../../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  const lines = ["customer_id,tenure,plan,churned"];
  for (let i = 0; i < 40; i++) {
    const tenure = (i * 7) % 50;
    lines.push(`c-${i},${tenure},${["basic", "pro", "team"][i % 3]},${tenure < 20 ? "yes" : "no"}`);
  }
  const dataset = await uploadCsv(server.url, "churn", lines.join("\n"));
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
    training: { epochs: 20, batchSize: 8, seed: 3 },
  });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

async function post(path: string, body: string, contentType: string, accept = "application/json") {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": contentType, accept },
    body,
  });
  const text = await response.text();
  const json = response.headers.get("content-type")?.includes("json");
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: json ? JSON.parse(text) : text,
  };
}

const ROWS = [
  { tenure: 3, plan: "basic" },
  { tenure: 44, plan: "team" },
];

describe("POST /predict with a table", () => {
  it("takes a CSV body with quoted fields and passthrough columns, and answers CSV", async () => {
    const plain = await server.http.post<PredictResponse>("/predict", {
      model: "churn",
      inputs: ROWS,
    });
    expect(plain.status).toBe(200);
    const csv =
      'customer_id,tenure,plan,churned\r\n"a, ""first""",3,basic,yes\r\nb,44,"team",no\r\n';
    const json = await post(
      "/predict?model=churn&passthrough=customer_id&ignoreExtraColumns=true",
      csv,
      "text/csv",
    );
    expect(json.status, JSON.stringify(json.body)).toBe(200);
    expect(json.body.predictions).toEqual(plain.body.predictions);
    expect(json.body.passthrough).toEqual([{ customer_id: 'a, "first"' }, { customer_id: "b" }]);

    const answered = await post(
      "/predict?model=churn&passthrough=customer_id,churned",
      csv,
      "text/csv",
      "text/csv",
    );
    expect(answered.status, String(answered.body)).toBe(200);
    expect(answered.type).toContain("text/csv");
    const predictions = plain.body.predictions as {
      label: string;
      probabilities: Record<string, number>;
    }[];
    expect(answered.body).toBe(
      [
        "customer_id,churned,label,probability_no,probability_yes",
        `"a, ""first""",yes,${predictions[0]!.label},${predictions[0]!.probabilities.no},${predictions[0]!.probabilities.yes}`,
        `b,no,${predictions[1]!.label},${predictions[1]!.probabilities.no},${predictions[1]!.probabilities.yes}`,
        "",
      ].join("\r\n"),
    );
  });

  it("takes JSON rows that carry the target and an id", async () => {
    const rows = ROWS.map((row, i) => ({ ...row, customer_id: `c${i}`, churned: "yes" }));
    const ignored = await server.http.post<PredictResponse>("/predict", {
      model: "churn",
      inputs: rows,
      passthrough: ["customer_id"],
      ignoreExtraColumns: true,
    });
    expect(ignored.status, JSON.stringify(ignored.body)).toBe(200);
    expect(ignored.body.passthrough).toEqual([{ customer_id: "c0" }, { customer_id: "c1" }]);
    const plain = await server.http.post<PredictResponse>("/predict", {
      model: "churn",
      inputs: ROWS,
    });
    expect(ignored.body.predictions).toEqual(plain.body.predictions);

    const refused = await server.http.post<Problem>("/predict", {
      model: "churn",
      inputs: rows,
      passthrough: ["customer_id"],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors![0]).toEqual({
      path: "inputs[0].churned",
      message: expect.stringContaining("name it in passthrough or set ignoreExtraColumns"),
    });
  });

  it("names the bad field of a table: a passthrough column that does not exist, a bad cell", async () => {
    const missing = await post(
      "/predict?model=churn&passthrough=account",
      "tenure,plan\n3,basic\n",
      "text/csv",
    );
    expect(missing.status).toBe(400);
    expect(missing.type).toContain("application/problem+json");
    expect(missing.body.errors).toEqual([
      { path: "passthrough[0]", message: expect.stringContaining('"account" is not a column') },
    ]);
    const bad = await post("/predict?model=churn", "tenure,plan\n3,basic\nmany,pro\n", "text/csv");
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { path: "rows[1].tenure", message: expect.stringContaining("must be a finite number") },
    ]);
    const noModel = await post("/predict", "tenure,plan\n3,basic\n", "text/csv");
    expect(noModel.status).toBe(400);
    expect(noModel.body.errors).toEqual([{ path: "model", message: expect.any(String) }]);
  });
});
