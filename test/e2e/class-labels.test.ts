/**
 * Class indices as labels with every cross-entropy, as PyTorch's CrossEntropyLoss and
 * scikit-learn users send them; the same data as one-hot targets must train the same network.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../src/platform/validation/problem.ts";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { Job } from "../../src/training/jobs/schemas.ts";
import type { TrainAccepted, TrainRequestInput } from "../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";

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

// Three separable clusters on a line.
const inputs = [[-2], [-1.8], [-2.2], [0], [0.2], [-0.2], [2], [1.8], [2.2]];
const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2];
const oneHot = labels.map((label) => [0, 1, 2].map((c) => (c === label ? 1 : 0)));

function request(model: string, overrides: Partial<TrainRequestInput>): TrainRequestInput {
  return {
    model,
    network: {
      inputs: 1,
      layers: [
        { units: 8, activation: "tanh" },
        { units: 3, activation: "softmax" },
      ],
    },
    loss: "categoricalCrossentropy",
    optimizer: { name: "adam", learningRate: 0.05 },
    training: { epochs: 150, batchSize: 9, seed: 7, validationSplit: 0 },
    data: { inputs, labels },
    ...overrides,
  };
}

async function train(body: TrainRequestInput): Promise<Job> {
  const accepted = await server.http.post<TrainAccepted>("/train", body);
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  return waitForJob(server.http, accepted.body.jobId);
}

async function predict(model: string): Promise<number[][]> {
  const response = await server.http.post<PredictResponse>("/predict", { model, inputs });
  expect(response.status).toBe(200);
  return response.body.outputs;
}

describe("class-index labels", () => {
  it("train categoricalCrossentropy exactly as the same classes given one-hot", async () => {
    const fromLabels = await train(request("labels-cce", {}));
    const fromOneHot = await train(request("onehot-cce", { data: { inputs, targets: oneHot } }));
    expect(fromLabels.status).toBe("succeeded");
    expect(fromLabels.metrics).toEqual(fromOneHot.metrics);
    expect(fromLabels.metrics?.accuracy).toBe(1);
    expect(await predict("labels-cce")).toEqual(await predict("onehot-cce"));
  });

  it("train a several-unit sigmoid with binaryCrossentropy one-vs-rest", async () => {
    const job = await train(
      request("labels-bce", {
        network: {
          inputs: 1,
          layers: [
            { units: 8, activation: "tanh" },
            { units: 3, activation: "sigmoid" },
          ],
        },
        loss: "binaryCrossentropy",
      }),
    );
    expect(job.status).toBe("succeeded");
    const outputs = await predict("labels-bce");
    outputs.forEach((row, i) => {
      expect(row.indexOf(Math.max(...row))).toBe(labels[i]);
    });
  });

  it("still refuse labels where they mean nothing, and a class past the output", async () => {
    const regression = await server.http.post<Problem>(
      "/train",
      request("labels-mse", { loss: "mse" }),
    );
    expect(regression.status).toBe(400);
    expect(regression.body.errors).toEqual([
      { path: "data.labels", message: expect.stringContaining("mse is a regression loss") },
    ]);
    const outOfRange = await server.http.post<Problem>(
      "/train",
      request("labels-range", { data: { inputs, labels: labels.map((l) => (l === 2 ? 3 : l)) } }),
    );
    expect(outOfRange.status).toBe(400);
    expect(outOfRange.body.errors?.[0]).toEqual({
      path: "data.labels[6]",
      message: "must be a class index from 0 to 2 (the output layer has 3 units)",
    });
  });
});
