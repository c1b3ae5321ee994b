/**
 * Training from datasets end to end on an in-process server and a real database: Iris (a real
 * public dataset) uploaded as CSV, trained, evaluated on its held-back rows and asked by feature
 * name for labels; a regression predicting in the target's units; the errors of a train request
 * that does not fit its dataset; preprocessing fitted on the training rows only (an outlier in
 * the test rows must not move it); and a restart that predicts the same from what was stored.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Dataset } from "../../src/datasets/schemas.ts";
import { bytesToFloat32 } from "../../src/platform/db/binary.ts";
import type { Problem } from "../../src/platform/validation/problem.ts";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import { encodeRows } from "../../src/versions/preprocessing/encode.ts";
import type { Preprocessing } from "../../src/versions/preprocessing/schema.ts";
import type { Model } from "../../src/versions/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { uploadCsv as uploadDataset } from "../helpers/datasets.ts";
import { quickXorRequest } from "../helpers/requests.ts";
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

const uploadCsv = (name: string, csv: string | Uint8Array, query = "") =>
  uploadDataset(server.url, name, csv, query);

async function trainAndWait(body: unknown): Promise<TrainAccepted> {
  const accepted = await server.http.post<TrainAccepted>("/train", body);
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  const job = await waitForJob(server.http, accepted.body.jobId);
  expect(job.status, JSON.stringify(job)).toBe("succeeded");
  return accepted.body;
}

async function trainProblem(body: unknown): Promise<Problem> {
  const response = await server.http.post<Problem>("/train", body);
  expect(response.status, JSON.stringify(response.body)).toBe(400);
  return response.body;
}

const irisNetwork = {
  layers: [
    { units: 8, activation: "relu" },
    { units: 3, activation: "softmax" },
  ],
};

function irisRequest(dataset: string, extra: Record<string, unknown> = {}) {
  return {
    model: "iris",
    dataset,
    target: "species",
    network: irisNetwork,
    loss: "sparseCategoricalCrossentropy",
    optimizer: { name: "adam", learningRate: 0.05 },
    training: { epochs: 60, batchSize: 16, seed: 1, testSplit: 0.2 },
    ...extra,
  };
}

const FLOWERS = [
  { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }, // setosa
  { sepal_length: 6.4, sepal_width: 3.2, petal_length: 4.5, petal_width: 1.5 }, // versicolor
  { sepal_length: 7.7, sepal_width: 3.0, petal_length: 6.1, petal_width: 2.3 }, // virginica
];

describe("Iris from a CSV upload", () => {
  let iris: Dataset;
  let named: PredictResponse;

  beforeAll(async () => {
    iris = await uploadCsv(
      "iris",
      await readFile(new URL("../fixtures/iris.csv", import.meta.url)),
    );
  });

  it("trains with inputs derived, scores the held-back rows and shows both on the model", async () => {
    await trainAndWait(irisRequest(iris.id));
    const model = await server.http.get<Model>("/models/iris");
    const version = model.body.versions[0]!;
    expect(version.network.inputs).toBe(4);
    const preprocessing = version.preprocessing!;
    expect(preprocessing.features.map((f) => [f.name, f.type])).toEqual([
      ["sepal_length", "numeric"],
      ["sepal_width", "numeric"],
      ["petal_length", "numeric"],
      ["petal_width", "numeric"],
    ]);
    expect(preprocessing.target).toEqual({
      name: "species",
      type: "categorical",
      classes: ["setosa", "versicolor", "virginica"],
    });
    // What it takes to split the dataset again: its id, the share held back, the seed.
    const { rows: stored } = await db.pool.query(
      "SELECT training FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'iris'",
    );
    expect(stored[0].training).toMatchObject({ seed: 1, dataset: { id: iris.id, testSplit: 0.2 } });
    const evaluation = version.evaluation!;
    if (evaluation.task !== "classification") throw new Error("classification expected");
    expect(evaluation.rows).toBe(30);
    expect(evaluation.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(evaluation.confusionMatrix.labels).toEqual(["setosa", "versicolor", "virginica"]);
    const cells = evaluation.confusionMatrix.matrix.flat();
    expect(cells.reduce((a, b) => a + b, 0)).toBe(30);
    const diagonal = evaluation.confusionMatrix.matrix.reduce((sum, row, i) => sum + row[i]!, 0);
    expect(diagonal / 30).toBeCloseTo(evaluation.accuracy, 10);
    expect(evaluation.classes.map((c) => c.support).reduce((a, b) => a + b, 0)).toBe(30);
    for (const c of evaluation.classes) {
      expect(c.f1).toBeGreaterThan(0.7);
      expect(c.support).toBe(
        evaluation.confusionMatrix.matrix[evaluation.classes.indexOf(c)]!.reduce(
          (a, b) => a + b,
          0,
        ),
      );
    }
  });

  it("predicts labels with every class's probability for rows keyed by feature name", async () => {
    const response = await server.http.post<PredictResponse>("/predict", {
      model: "iris",
      inputs: FLOWERS,
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    named = response.body;
    expect(named.predictions!.map((p) => ("label" in p ? p.label : undefined))).toEqual([
      "setosa",
      "versicolor",
      "virginica",
    ]);
    for (const [r, p] of named.predictions!.entries()) {
      if (!("probabilities" in p)) throw new Error("label expected");
      expect(Object.keys(p.probabilities)).toEqual(["setosa", "versicolor", "virginica"]);
      expect(Object.values(p.probabilities)).toEqual(named.outputs[r]);
    }
  });

  it("gives the same answer for rows in the stored feature order, packed or as strings", async () => {
    const positional = FLOWERS.map((f) => Object.values(f));
    const packed = await server.http.post<PredictResponse>("/predict", {
      model: "iris",
      inputs: positional,
    });
    expect(packed.body).toEqual(named);
    const strings = await server.http.post<PredictResponse>("/predict", {
      model: "iris",
      inputs: positional.map((row) => row.map(String)),
    });
    expect(strings.body).toEqual(named);
  });

  it("names the row and feature of a bad predict input", async () => {
    const response = await server.http.post<Problem>("/predict", {
      model: "iris",
      inputs: [{ ...FLOWERS[0], petal_width: "wide" }, { sepal_length: 5 }, [1, 2, 3]],
    });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual(
      expect.arrayContaining([
        { path: "inputs[0].petal_width", message: 'must be a finite number, got "wide"' },
        {
          path: "inputs[1].sepal_width",
          message: "is missing, and this feature has no imputation",
        },
        {
          path: "inputs[2]",
          message:
            "must have 4 values (sepal_length, sepal_width, petal_length, petal_width), got 3",
        },
      ]),
    );
  });

  it("refuses train requests that do not fit the dataset, naming the field", async () => {
    const at = async (extra: Record<string, unknown>) =>
      (await trainProblem(irisRequest(iris.id, extra))).errors?.map((e) => e.path);
    expect(await at({ target: "colour" })).toEqual(["target"]);
    expect(await at({ features: ["sepal_length", "petal_size"] })).toEqual(["features[1]"]);
    expect(await at({ features: ["species"] })).toEqual(["features[0]"]);
    const wrongInputs = await trainProblem(
      irisRequest(iris.id, { network: { inputs: 5, layers: irisNetwork.layers } }),
    );
    expect(wrongInputs.errors).toEqual([
      {
        path: "network.inputs",
        message: expect.stringContaining("is 5, but the features encode to 4 input columns"),
      },
    ]);
    const twoUnits = await trainProblem(
      irisRequest(iris.id, {
        network: {
          layers: [
            { units: 8, activation: "relu" },
            { units: 2, activation: "softmax" },
          ],
        },
      }),
    );
    expect(twoUnits.errors).toEqual([
      {
        path: "network.layers[1].units",
        message:
          'must be 3, one per class: the 3 classes of "species" (setosa, versicolor, virginica)',
      },
    ]);
    expect(await at({ loss: "mse" })).toEqual(["loss"]);
    expect(await at({ task: "regression" })).toEqual(["task"]);
    const unknown = await trainProblem(irisRequest("00000000-0000-4000-8000-000000000000"));
    expect(unknown.errors?.[0]?.path).toBe("dataset");
    const both = await trainProblem({ ...irisRequest(iris.id), data: { inputs: [[1]] } });
    expect(both.errors?.[0]?.path).toBe("dataset");
  });

  it("refuses a dataset whose one-hot features are wider than network.inputs may be", async () => {
    // 4,100 categories: wider than MAX_UNITS (4096), the limit network.inputs has too.
    const rows = Array.from({ length: 4_100 }, (_, i) => `k${i},${i % 2}`);
    const wide = await uploadCsv("wide-categories", `kind,label\n${rows.join("\n")}\n`);
    const refused = await trainProblem({
      model: "too-wide",
      dataset: wide.id,
      target: "label",
      task: "classification",
      network: { layers: [{ units: 2, activation: "softmax" }] },
      loss: "sparseCategoricalCrossentropy",
      training: { epochs: 1, testSplit: 0 },
    });
    expect(refused.errors).toEqual([
      {
        path: "features",
        message: expect.stringContaining(
          "encode to 4100 input columns (widest: kind: 4100 one-hot)",
        ),
      },
    ]);
    expect((await server.http.get("/models/too-wide")).status).toBe(404);
  });

  it("holds out validation rows from the training rows as inline data does", async () => {
    const accepted = await trainAndWait(
      irisRequest(iris.id, {
        model: "iris-val",
        training: { epochs: 20, batchSize: 16, seed: 2, testSplit: 0.2, validationSplit: 0.25 },
      }),
    );
    const metrics = await server.http.get<{ epochs: { valLoss?: number; valAccuracy?: number }[] }>(
      `/jobs/${accepted.jobId}/metrics`,
    );
    expect(metrics.body.epochs).toHaveLength(20);
    expect(metrics.body.epochs.at(-1)).toHaveProperty("valAccuracy");
    const { rows } = await db.pool.query(
      "SELECT split, rows FROM training_data WHERE job_id = $1 ORDER BY split",
      [accepted.jobId],
    );
    // 150 rows: 30 held back for the test, the validation share taken by the engine from 120.
    expect(rows).toEqual([
      { split: "train", rows: 120 },
      { split: "test", rows: 30 },
    ]);
  });

  it("keeps predicting the same after a restart, from what was stored", async () => {
    await server.close();
    server = await startTestServer({ databaseUrl: db.url });
    const again = await server.http.post<PredictResponse>("/predict", {
      model: "iris",
      inputs: FLOWERS,
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(named);
  });
});

describe("a regression with a categorical feature", () => {
  // y = 3a - 2b + 10, +5 for red: in units a client would recognise.
  const truth = (a: number, b: number, colour: string) =>
    3 * a - 2 * b + 10 + (colour === "red" ? 5 : 0);
  let csv = "a,b,colour,y\n";
  for (let i = 0; i < 160; i++) {
    const a = (i % 16) / 4;
    const b = Math.floor(i / 16) / 3;
    const colour = i % 3 === 0 ? "red" : "blue";
    csv += `${a},${b},${colour},${truth(a, b, colour)}\n`;
  }

  it("predicts values in the target's units and stores MAE, RMSE and R²", async () => {
    const data = await uploadCsv("lines", csv);
    await trainAndWait({
      model: "lines",
      dataset: data.id,
      target: "y",
      network: {
        layers: [
          { units: 16, activation: "tanh" },
          { units: 1, activation: "linear" },
        ],
      },
      loss: "mse",
      optimizer: { name: "adam", learningRate: 0.02 },
      training: { epochs: 150, batchSize: 16, seed: 3, testSplit: 0.25 },
    });
    const model = await server.http.get<Model>("/models/lines");
    const version = model.body.versions[0]!;
    // a, b and colour one-hot over (blue, red).
    expect(version.network.inputs).toBe(4);
    expect(version.preprocessing!.features[2]).toEqual({
      name: "colour",
      type: "categorical",
      categories: ["blue", "red"],
      unknown: "error",
    });
    const evaluation = version.evaluation!;
    if (evaluation.task !== "regression") throw new Error("regression expected");
    expect(evaluation.rows).toBe(40);
    expect(evaluation.r2).toBeGreaterThan(0.95);
    expect(evaluation.mae).toBeLessThan(1.5);
    expect(evaluation.rmse).toBeGreaterThanOrEqual(evaluation.mae);

    const rows = [
      { a: 1, b: 1, colour: "red" },
      { a: 3, b: 2, colour: "blue" },
    ];
    const response = await server.http.post<PredictResponse>("/predict", {
      model: "lines",
      inputs: rows,
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const values = response.body.predictions!.map((p) => ("value" in p ? p.value : Number.NaN));
    expect(values[0]).toBeCloseTo(truth(1, 1, "red"), 0);
    expect(values[1]).toBeCloseTo(truth(3, 2, "blue"), 0);
    // The raw output is in standardised units; the prediction is not.
    expect(response.body.outputs[0]![0]).not.toBeCloseTo(values[0]!, 0);

    // The Open Inference Protocol takes the network's own input tensor, as its metadata says.
    const metadata = await server.http.get<{ inputs: { shape: number[] }[] }>("/v2/models/lines");
    expect(metadata.body.inputs[0]!.shape).toEqual([-1, 4]);
    const encoded = encodeRows(version.preprocessing!, rows);
    const inferred = await server.http.post<{ outputs: { data: number[] }[] }>(
      "/v2/models/lines/infer",
      { inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: Array.from(encoded) }] },
    );
    expect(inferred.status, JSON.stringify(inferred.body)).toBe(200);
    expect(inferred.body.outputs[0]!.data).toEqual(response.body.outputs.flat());

    const unknown = await server.http.post<Problem>("/predict", {
      model: "lines",
      inputs: [{ a: 1, b: 1, colour: "green" }],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.[0]?.path).toBe("inputs[0].colour");
    expect(unknown.body.errors?.[0]?.message).toContain('is "green", not one of the categories');
  });
});

describe("missing values", () => {
  const csv = "x,kind,y\n1,a,0\n2,,1\n,b,0\n4,a,1\n5,b,0\n6,a,1\n7,b,0\n8,a,1\n";
  const request = (dataset: string, extra: Record<string, unknown> = {}) => ({
    model: "gaps",
    dataset,
    target: "y",
    task: "classification",
    network: { layers: [{ units: 1, activation: "sigmoid" }] },
    loss: "binaryCrossentropy",
    training: { epochs: 5, seed: 1, testSplit: 0 },
    ...extra,
  });

  it("are an error naming row and column unless an imputation is chosen", async () => {
    const data = await uploadCsv("gaps", csv);
    const refused = await trainProblem(request(data.id));
    expect(refused.errors).toEqual([
      {
        path: "rows[1].kind",
        message: "is missing; choose an imputation (preprocessing.impute) or fill it in",
      },
      {
        path: "rows[2].x",
        message: "is missing; choose an imputation (preprocessing.impute) or fill it in",
      },
    ]);
    const meanOfCategories = await trainProblem(
      request(data.id, { preprocessing: { impute: { kind: "mean" } } }),
    );
    expect(meanOfCategories.errors?.[0]?.path).toBe("preprocessing.impute.kind");

    await trainAndWait(request(data.id, { preprocessing: { impute: "mean" } }));
    const model = await server.http.get<Model>("/models/gaps");
    const { features, target } = model.body.versions[0]!.preprocessing!;
    // Every row trains (testSplit 0): the mean of 1,2,4..8 and the most frequent kind.
    expect(features[0]).toMatchObject({ name: "x", impute: 33 / 7 });
    expect(features[1]).toMatchObject({ name: "kind", impute: "a", categories: ["a", "b"] });
    // A numeric 0/1 column as a classification target: classes are its values as text.
    expect(target).toEqual({ name: "y", type: "categorical", classes: ["0", "1"] });
    expect(model.body.versions[0]!.evaluation).toBeNull();
    const predicted = await server.http.post<PredictResponse>("/predict", {
      model: "gaps",
      inputs: [{ x: null, kind: null }],
    });
    expect(predicted.status, JSON.stringify(predicted.body)).toBe(200);
    expect(predicted.body.predictions![0]).toHaveProperty("label");
  });
});

describe("preprocessing fitted on the training rows only", () => {
  it("is not moved by an outlier held back in the test rows", async () => {
    // x is 1..20 except one row of 1000; the row ids make the test split readable back.
    let csv = "id,x,y\n";
    for (let i = 1; i <= 20; i++) csv += `${i},${i === 7 ? 1000 : i},${i * 2}\n`;
    const data = await uploadCsv("outlier", csv);
    const ask = (seed: number) =>
      server.http.post<TrainAccepted>("/train", {
        model: "outlier",
        dataset: data.id,
        target: "y",
        network: { layers: [{ units: 1, activation: "linear" }] },
        loss: "mse",
        training: { epochs: 1, seed, testSplit: 0.5 },
        preprocessing: { scaling: "minmax" },
      });
    // Seeds until one holds the outlier back (each has a one in two chance).
    for (let seed = 1; seed <= 30; seed++) {
      const accepted = await ask(seed);
      expect(accepted.status).toBe(202);
      const { rows } = await db.pool.query<{
        inputs: Buffer;
        rows: number;
        preprocessing: Preprocessing;
      }>(
        `SELECT d.inputs, d.rows, v.preprocessing
           FROM training_data d JOIN training_jobs j ON j.id = d.job_id
           JOIN model_versions v ON v.id = j.version_id
          WHERE d.job_id = $1 AND d.split = 'test'`,
        [accepted.body.jobId],
      );
      const test = rows[0]!;
      const [idFeature, xFeature] = test.preprocessing.features;
      if (idFeature?.type !== "numeric" || xFeature?.type !== "numeric") throw new Error("numeric");
      const encoded = bytesToFloat32(test.inputs);
      const testIds = new Set<number>();
      for (let r = 0; r < test.rows; r++)
        testIds.add(Math.round(encoded[r * 2]! * idFeature.scale + idFeature.center));
      expect(testIds.size).toBe(10);
      if (!testIds.has(7)) continue;
      const trainX = Array.from({ length: 20 }, (_, i) => i + 1).filter((id) => !testIds.has(id));
      expect(xFeature.center).toBe(Math.min(...trainX));
      expect(xFeature.center + xFeature.scale).toBe(Math.max(...trainX));
      expect(xFeature.center + xFeature.scale).toBeLessThanOrEqual(20);
      // The target's scaling too.
      const target = test.preprocessing.target;
      if (target.type !== "numeric") throw new Error("numeric target");
      expect(target.center).toBe(Math.min(...trainX.map((id) => id * 2)));
      return;
    }
    throw new Error("no seed in 1..30 held the outlier back");
  });
});

describe("a version trained on inline numbers", () => {
  it("still takes only numbers, and refuses named rows naming the row", async () => {
    await trainAndWait(quickXorRequest("plain"));
    const ok = await server.http.post<PredictResponse>("/predict", {
      model: "plain",
      inputs: [[0, 1]],
    });
    expect(ok.status).toBe(200);
    expect(ok.body.predictions).toBeUndefined();
    const model = await server.http.get<Model>("/models/plain");
    expect(model.body.versions[0]).toMatchObject({ preprocessing: null, evaluation: null });
    const named = await server.http.post<Problem>("/predict", {
      model: "plain",
      inputs: [{ a: 0, b: 1 }],
    });
    expect(named.status).toBe(400);
    expect(named.body.errors?.[0]?.path).toBe("inputs[0]");
    const text = await server.http.post<Problem>("/predict", {
      model: "plain",
      inputs: [[0, "1"]],
    });
    expect(text.status).toBe(400);
    expect(text.body.errors).toEqual([
      { path: "inputs[0][1]", message: "Invalid input: expected number, received string" },
    ]);
  });
});
