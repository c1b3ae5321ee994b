/**
 * Live accuracy on an in-process server with the prediction log on: predictions carry a
 * predictionId per row, feedback joins the truth to them (the same id twice changes nothing,
 * an unknown id is 404 and writes nothing, an impossible label is 400), and performance gives
 * the accuracy over the window; MAE for a regressor.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../../src/platform/validation/problem.ts";
import type { Performance } from "../../../src/prediction/feedback/schemas.ts";
import type { PredictResponse } from "../../../src/prediction/request.ts";
import type { TrainAccepted } from "../../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { uploadCsv } from "../../helpers/datasets.ts";
import { startTestServer, type TestServer, waitForJob } from "../../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

async function train(body: unknown) {
  const accepted = await server.http.post<TrainAccepted>("/train", body);
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");
}

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url, env: { PREDICTION_LOG_RATE: "1" } });
  const lines = ["x,label,amount"];
  for (let i = 0; i < 40; i++) lines.push(`${i},${i < 20 ? "low" : "high"},${i * 2}`);
  const dataset = await uploadCsv(server.url, "fb", lines.join("\n"));
  const network = (units: number, activation: string) => ({
    layers: [
      { units: 4, activation: "tanh" },
      { units, activation },
    ],
  });
  await train({
    model: "fb",
    dataset: dataset.id,
    target: "label",
    features: ["x"],
    network: network(2, "softmax"),
    loss: "sparseCategoricalCrossentropy",
    optimizer: { name: "adam", learningRate: 0.05 },
    training: { epochs: 10, batchSize: 8, seed: 1 },
  });
  await train({
    model: "amount",
    dataset: dataset.id,
    target: "amount",
    features: ["x"],
    network: network(1, "linear"),
    loss: "mse",
    training: { epochs: 3, batchSize: 8, seed: 1 },
  });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

const performance = async (model: string) => {
  const response = await server.http.get<Performance>(
    `/models/${model}/versions/1/performance?window=1h`,
  );
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
};

describe("feedback and live accuracy", () => {
  it("joins the truth to each prediction by its id, idempotently", async () => {
    const predicted = await server.http.post<PredictResponse>("/predict", {
      model: "fb",
      inputs: [{ x: 1 }, { x: 38 }, { x: 5 }],
    });
    expect(predicted.status).toBe(200);
    const ids = predicted.body.predictionIds as string[];
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    const labels = predicted.body.predictions!.map((p) => (p as { label: string }).label);

    expect(await performance("fb")).toEqual({
      model: "fb",
      version: 1,
      window: "1h",
      predictions: 3,
      withFeedback: 0,
      accuracy: null,
    });
    // The truth: the first as predicted, the second the other way.
    const other = (label: string) => (label === "low" ? "high" : "low");
    const one = await server.http.post("/models/fb/feedback", {
      predictionId: ids[0],
      actual: labels[0],
    });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(one.body).toEqual({ accepted: 1 });
    const batch = await server.http.post("/models/fb/feedback", {
      items: [
        { predictionId: ids[1], actual: other(labels[1]!) },
        { predictionId: ids[0], actual: labels[0] },
      ],
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    expect(await performance("fb")).toMatchObject({
      predictions: 3,
      withFeedback: 2,
      accuracy: 0.5,
    });
    // The same again changes nothing.
    await server.http.post("/models/fb/feedback", { predictionId: ids[0], actual: labels[0] });
    expect(await performance("fb")).toMatchObject({
      predictions: 3,
      withFeedback: 2,
      accuracy: 0.5,
    });

    // An unknown id in a batch: 404 naming it, and the known one in it is not written.
    const unknown = await server.http.post<Problem>("/models/fb/feedback", {
      items: [
        { predictionId: ids[2], actual: labels[2] },
        { predictionId: "00000000-0000-4000-8000-000000000000", actual: "low" },
      ],
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors).toEqual([
      { path: "items[1].predictionId", message: expect.any(String) },
    ]);
    // An id of another model is unknown to this one.
    expect(
      (await server.http.post("/models/amount/feedback", { predictionId: ids[2], actual: 3 }))
        .status,
    ).toBe(404);
    const bad = await server.http.post<Problem>("/models/fb/feedback", {
      predictionId: ids[2],
      actual: "medium",
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { path: "actual", message: expect.stringContaining('"low"') },
    ]);
    expect(await performance("fb")).toMatchObject({ withFeedback: 2 });

    const window = await server.http.get<Problem>(
      "/models/fb/versions/1/performance?window=yesterday",
    );
    expect(window.status).toBe(400);
    expect(window.body.errors![0]!.path).toBe("window");
  });

  it("gives the mean absolute error of a regressor", async () => {
    const predicted = await server.http.post<PredictResponse>("/predict", {
      model: "amount",
      inputs: [{ x: 2 }, { x: 30 }],
    });
    const ids = predicted.body.predictionIds as string[];
    const values = predicted.body.predictions!.map((p) => (p as { value: number }).value);
    const response = await server.http.post("/models/amount/feedback", {
      items: [
        { predictionId: ids[0], actual: values[0]! + 3 },
        { predictionId: ids[1], actual: values[1]! - 1 },
      ],
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const result = await performance("amount");
    expect(result.withFeedback).toBe(2);
    expect(result.mae).toBeCloseTo(2, 6);
  });
});
