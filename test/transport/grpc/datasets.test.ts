/**
 * gRPC parity for datasets (against a whole in-process server and real Postgres): Train from an
 * uploaded dataset with the inputs derived, Predict with raw rows by name and in stored order
 * (predictions with labels), the same answer as REST, the version's stored preprocessing and
 * evaluation in GetModel, the REST errors with the same paths; and the Datasets service.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Dataset } from "../../../src/datasets/schemas.ts";
import type { Dataset__Output } from "../../../src/generated/grpc/nnserve/v1/Dataset.ts";
import type { ListDatasetsResponse__Output } from "../../../src/generated/grpc/nnserve/v1/ListDatasetsResponse.ts";
import type { Model__Output } from "../../../src/generated/grpc/nnserve/v1/Model.ts";
import type { PredictResponse__Output } from "../../../src/generated/grpc/nnserve/v1/PredictResponse.ts";
import type { TrainRequest } from "../../../src/generated/grpc/nnserve/v1/TrainRequest.ts";
import type { TrainResponse__Output } from "../../../src/generated/grpc/nnserve/v1/TrainResponse.ts";
import type { PredictResponse } from "../../../src/prediction/request.ts";
import type { Model } from "../../../src/versions/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { irisCsv, uploadCsv } from "../../helpers/datasets.ts";
import { startTestServer, type TestServer, waitForJob } from "../../helpers/server.ts";
import { failure, fieldIssues, type GrpcClients, grpcClients, status, unary } from "./helpers.ts";

let db: TestDatabase;
let server: TestServer;
let clients: GrpcClients;
let iris: Dataset;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url, env: { DATASET_MAX_BYTES: "20000" } });
  clients = grpcClients(server.grpcAddress);
  iris = await uploadCsv(server.url, "iris", await irisCsv());
});

afterAll(async () => {
  clients?.close();
  await server?.close();
  await db?.close();
});

const train = (req: TrainRequest) =>
  unary<TrainResponse__Output>((cb) => clients.training.Train(req, cb));

function irisMessage(extra: Partial<TrainRequest> = {}): TrainRequest {
  return {
    model: "iris-grpc",
    dataset: iris.id,
    target: "species",
    network: {
      layers: [
        { units: 8, activation: "relu" },
        { units: 3, activation: "softmax" },
      ],
    },
    loss: "sparseCategoricalCrossentropy",
    optimizer: { name: "adam", learningRate: 0.05 },
    training: { epochs: 60, batchSize: 16, seed: 1, testSplit: 0.2 },
    ...extra,
  };
}

const num = (number: number) => ({ number });

describe("Train and Predict from a dataset over gRPC", () => {
  it("trains, answers raw rows with labels, and agrees with REST", async () => {
    const accepted = await train(irisMessage());
    const job = await waitForJob(server.http, accepted.jobId);
    expect(job.status, JSON.stringify(job)).toBe("succeeded");

    const named = await unary<PredictResponse__Output>((cb) =>
      clients.prediction.Predict(
        {
          model: "iris-grpc",
          rows: [
            {
              named: {
                sepal_length: num(5.1),
                sepal_width: num(3.5),
                petal_length: num(1.4),
                petal_width: num(0.2),
              },
            },
            { values: [num(7.7), num(3.0), num(6.1), { text: "2.3" }] },
          ],
        },
        cb,
      ),
    );
    expect(named.predictions.map((p) => p.label)).toEqual(["setosa", "virginica"]);
    expect(Object.keys(named.predictions[0]!.probabilities)).toEqual([
      "setosa",
      "versicolor",
      "virginica",
    ]);
    const rest = await server.http.post<PredictResponse>("/predict", {
      model: "iris-grpc",
      inputs: [
        [5.1, 3.5, 1.4, 0.2],
        [7.7, 3.0, 6.1, 2.3],
      ],
    });
    expect(named.outputs!.values).toEqual(rest.body.outputs.flat());
    expect(named.predictions.map((p) => p.probabilities)).toEqual(
      rest.body.predictions!.map((p) => ("probabilities" in p ? p.probabilities : {})),
    );

    // Rows as numbers in the stored feature order are raw values too (read as float32).
    const numeric = await unary<PredictResponse__Output>((cb) =>
      clients.prediction.Predict(
        {
          model: "iris-grpc",
          inputs: { width: 4, values: [5.1, 3.5, 1.4, 0.2, 7.7, 3.0, 6.1, 2.3] },
        },
        cb,
      ),
    );
    expect(numeric.predictions.map((p) => p.label)).toEqual(["setosa", "virginica"]);
    numeric.outputs!.values.forEach((v, i) => {
      expect(v).toBeCloseTo(named.outputs!.values[i]!, 5);
    });

    const model = await unary<Model__Output>((cb) =>
      clients.models.GetModel({ name: "iris-grpc" }, cb),
    );
    const version = model.versions[0]!;
    expect(version.network!.inputs).toBe(4);
    expect(JSON.parse(version.preprocessingJson).target.classes).toEqual([
      "setosa",
      "versicolor",
      "virginica",
    ]);
    expect(JSON.parse(version.evaluationJson).accuracy).toBeGreaterThanOrEqual(0.9);
    // The settings it was trained with, as REST's `training`: what a comparison diffs.
    expect(JSON.parse(version.trainingJson)).toMatchObject({
      epochs: 60,
      batchSize: 16,
      validationSplit: 0,
      dataset: { id: iris.id, testSplit: 0.2 },
    });
    const overRest = (await fetch(`${server.url}/models/iris-grpc`).then((r) => r.json())) as Model;
    expect(overRest.versions[0]!.training).toEqual(JSON.parse(version.trainingJson));
  });

  it("answers a train request that does not fit its dataset with INVALID_ARGUMENT and the REST path", async () => {
    const error = await failure(train(irisMessage({ target: "colour" })));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(error.metadata).map((i) => i.path)).toEqual(["target"]);
    const wrongWidth = await failure(
      train(
        irisMessage({
          network: { inputs: 5, layers: [{ units: 3, activation: "softmax" }] },
        }),
      ),
    );
    expect(fieldIssues(wrongWidth.metadata).map((i) => i.path)).toEqual(["network.inputs"]);
    const imputeTwice = await failure(
      train(irisMessage({ preprocessing: { impute: "mean", imputeColumns: { a: "mean" } } })),
    );
    expect(fieldIssues(imputeTwice.metadata).map((i) => i.path)).toEqual(["preprocessing.impute"]);
  });

  it("names the feature of a bad raw row as REST does", async () => {
    const error = await failure(
      unary((cb) =>
        clients.prediction.Predict(
          {
            model: "iris-grpc",
            rows: [{ named: { sepal_length: num(5), sepal_width: { missing: true } } }],
          },
          cb,
        ),
      ),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(error.metadata)).toContainEqual({
      path: "inputs[0].sepal_width",
      message: "is missing, and this feature has no imputation",
    });
  });
});

describe("the Datasets service", () => {
  it("creates from CSV bytes or JSON records, lists, gets and deletes, as REST does", async () => {
    const created = await unary<Dataset__Output>((cb) =>
      clients.datasets.CreateDataset(
        {
          name: "small",
          csv: Buffer.from('\ufeffzip,"note, quoted",n\r\n94110,a,1\r\n10001,b,\r\n'),
          types: { zip: "categorical" },
        },
        cb,
      ),
    );
    expect(created).toMatchObject({ name: "small", rows: 2, columnCount: 3 });
    expect(created.columns.map((c) => [c.name, c.type])).toEqual([
      ["zip", "categorical"],
      ["note, quoted", "categorical"],
      ["n", "numeric"],
    ]);
    expect(created.columns[2]).toMatchObject({
      count: 1,
      missing: 1,
      min: 1,
      max: 1,
      mean: 1,
      std: 0,
    });
    const rest = await server.http.get<Dataset>(`/datasets/${created.id}`);
    expect(rest.body.columns[0]).toMatchObject({
      categories: [
        { value: "94110", count: 1 },
        { value: "10001", count: 1 },
      ],
    });

    const records = await unary<Dataset__Output>((cb) =>
      clients.datasets.CreateDataset(
        { name: "records", recordsJson: JSON.stringify([{ a: 1 }, { a: 2 }]) },
        cb,
      ),
    );
    expect(records.rows).toBe(2);

    const page = await unary<ListDatasetsResponse__Output>((cb) =>
      clients.datasets.ListDatasets({ limit: 2 }, cb),
    );
    expect(page.items.map((d) => d.id)).toEqual([records.id, created.id]);
    expect(page.items[0]!.columns).toEqual([]);
    expect(page.nextCursor).not.toBe("");

    await unary((cb) => clients.datasets.DeleteDataset({ id: created.id }, cb));
    const gone = await failure(unary((cb) => clients.datasets.GetDataset({ id: created.id }, cb)));
    expect(gone.code).toBe(status.NOT_FOUND);
  });

  it("names the row of a ragged CSV and refuses one past DATASET_MAX_BYTES", async () => {
    const ragged = await failure(
      unary((cb) =>
        clients.datasets.CreateDataset({ name: "bad", csv: Buffer.from("a,b\n1,2\n3\n") }, cb),
      ),
    );
    expect(ragged.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(ragged.metadata)).toEqual([
      { path: "rows[1]", message: "has 1 fields but the header has 2 (line 3)" },
    ]);
    const big = await failure(
      unary((cb) =>
        clients.datasets.CreateDataset(
          { name: "big", csv: Buffer.from(`a\n${"1\n".repeat(10_001)}`) },
          cb,
        ),
      ),
    );
    expect(big.code).toBe(status.RESOURCE_EXHAUSTED);
    const badType = await failure(
      unary((cb) =>
        clients.datasets.CreateDataset(
          { name: "t", csv: Buffer.from("a\n1\n"), types: { a: "text" } },
          cb,
        ),
      ),
    );
    expect(fieldIssues(badType.metadata).map((i) => i.path)).toEqual(["types.a"]);
  });
});
