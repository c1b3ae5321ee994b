/**
 * `"explain": true` on POST /predict, on an in-process server and a real database: attributions
 * by feature name (a categorical feature's one-hot columns summed into one value) from the
 * training means and modes, stated in the response, complete within 1e-3; by input index for a
 * version trained on numbers; a malformed baseline and a step network refused with a path.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../../src/platform/validation/problem.ts";
import type { PredictResponse } from "../../../src/prediction/request.ts";
import type { TrainAccepted } from "../../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { uploadCsv } from "../../helpers/datasets.ts";
import { quickXorRequest, XOR_INPUTS } from "../../helpers/requests.ts";
import { startTestServer, type TestServer, waitForJob } from "../../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;
const tenures: number[] = [];

async function train(body: unknown) {
  const accepted = await server.http.post<TrainAccepted>("/train", body);
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");
}

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  const lines = ["tenure,plan,spend,churned"];
  for (let i = 0; i < 40; i++) {
    const tenure = (i * 7) % 50;
    tenures.push(tenure);
    const plan = ["basic", "pro", "team", "pro"][i % 4];
    lines.push(`${tenure},${plan},${(i * 13) % 90},${tenure < 20 ? "yes" : "no"}`);
  }
  const dataset = await uploadCsv(server.url, "churn", lines.join("\n"));
  await train({
    model: "churn",
    dataset: dataset.id,
    target: "churned",
    network: {
      layers: [
        { units: 6, activation: "elu" },
        { units: 2, activation: "softmax" },
      ],
    },
    loss: "sparseCategoricalCrossentropy",
    optimizer: { name: "adam", learningRate: 0.05 },
    training: { epochs: 20, batchSize: 8, seed: 3 },
  });
  await train(quickXorRequest("xor"));
  await train({
    model: "perceptron",
    network: { inputs: 2, layers: [{ units: 1, activation: "step" }] },
    loss: "mse",
    optimizer: { name: "sgd", learningRate: 0.1 },
    training: { epochs: 5, batchSize: 1, seed: 5 },
    data: { inputs: XOR_INPUTS, targets: [[0], [1], [1], [1]] },
  });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

const sum = (values: Record<string, number> | number[]) =>
  Object.values(values).reduce((s, v) => s + v, 0);

describe("explain on /predict", () => {
  it("attributes each row to its features from the training means and modes", async () => {
    const rows = [
      { tenure: 3, plan: "team", spend: 80 },
      { tenure: 45, plan: "basic", spend: 2 },
    ];
    const response = await server.http.post<PredictResponse>("/predict", {
      model: "churn",
      inputs: rows,
      explain: true,
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    // The training rows' mean (the validation rows left out), and "pro", the most frequent plan.
    const { rows: stored } = await db.pool.query(
      "SELECT preprocessing->'statistics'->0->>'mean' AS mean FROM model_versions WHERE preprocessing IS NOT NULL",
    );
    const mean = Number(stored[0].mean);
    expect(Math.abs(mean - tenures.reduce((s, t) => s + t, 0) / tenures.length)).toBeLessThan(3);
    expect(response.body.baseline).toEqual({
      tenure: expect.any(Number),
      plan: "pro",
      spend: expect.any(Number),
    });
    expect((response.body.baseline as Record<string, number>).tenure).toBeCloseTo(mean, 9);
    const explanations = response.body.explanations!;
    expect(explanations).toHaveLength(2);
    explanations.forEach((e, r) => {
      const prediction = response.body.predictions![r] as {
        label: string;
        probabilities: Record<string, number>;
      };
      expect(e.target).toBe(`probability of ${prediction.label}`);
      expect(e.output).toBeCloseTo(prediction.probabilities[prediction.label]!, 5);
      expect(Object.keys(e.attributions)).toEqual(["tenure", "plan", "spend"]);
      expect(Math.abs(sum(e.attributions) - (e.output - e.baselineOutput))).toBeLessThan(1e-3);
    });

    // A baseline of the row itself explains nothing: every attribution is zero.
    const self = await server.http.post<PredictResponse>("/predict", {
      model: "churn",
      inputs: [rows[0]],
      explain: true,
      baseline: rows[0],
    });
    expect(self.status).toBe(200);
    expect(self.body.baseline).toEqual(rows[0]);
    for (const v of Object.values(self.body.explanations![0]!.attributions))
      expect(v).toBeCloseTo(0, 9);
  });

  it("attributes by input index on a version trained on numbers", async () => {
    const response = await server.http.post<PredictResponse>("/predict", {
      model: "xor",
      inputs: XOR_INPUTS,
      explain: true,
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.baseline).toEqual([0, 0]);
    response.body.explanations!.forEach((e) => {
      expect(e.attributions).toHaveLength(2);
      expect(Math.abs(sum(e.attributions) - (e.output - e.baselineOutput))).toBeLessThan(1e-3);
    });
    // Row [0, 0] is the baseline.
    expect(sum(response.body.explanations![0]!.attributions)).toBeCloseTo(0, 9);
  });

  it("refuses a malformed baseline and a network with no gradient, naming the field", async () => {
    const cases: [unknown, string][] = [
      [
        {
          model: "churn",
          inputs: [{ tenure: 3, plan: "team", spend: 1 }],
          explain: true,
          baseline: { plan: "gold" },
        },
        "baseline.plan",
      ],
      [
        {
          model: "churn",
          inputs: [{ tenure: 3, plan: "team", spend: 1 }],
          explain: true,
          baseline: { age: 3 },
        },
        "baseline.age",
      ],
      [
        {
          model: "churn",
          inputs: [{ tenure: 3, plan: "team", spend: 1 }],
          explain: true,
          baseline: [1, 2],
        },
        "baseline",
      ],
      [{ model: "xor", inputs: [[0, 1]], explain: true, baseline: [1] }, "baseline"],
      [
        {
          model: "churn",
          inputs: [{ tenure: 3, plan: "team", spend: 1 }],
          explain: true,
          baseline: "mean",
        },
        "baseline",
      ],
      [{ model: "perceptron", inputs: [[0, 1]], explain: true }, "explain"],
    ];
    for (const [body, path] of cases) {
      const response = await server.http.post<Problem>("/predict", body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      expect(response.body.errors!.map((e) => e.path)).toContain(path);
    }
  });
});
