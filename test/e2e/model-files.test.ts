/**
 * Export and import on real servers: models trained through the service (every activation the
 * engine has, a classifier, a regressor, a perceptron) exported as ONNX and run in onnxruntime
 * give /predict's outputs; a portable file imported into an EMPTY database (a second server on a
 * second test database) predicts identically; versions with preprocessing (trained from an
 * uploaded dataset, or imported with one) predict from raw features in ONNX as /predict does by
 * feature name; bad files are refused, each with its field, and leave nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createNetwork,
  loadNetwork,
  type NetworkSpec,
  saveNetwork,
} from "../../src/engine/index.ts";
import type { ModelFile__Output } from "../../src/generated/grpc/nnserve/v1/ModelFile.ts";
import type { ModelVersion__Output } from "../../src/generated/grpc/nnserve/v1/ModelVersion.ts";
import type { Problem } from "../../src/platform/validation/problem.ts";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { TrainAccepted, TrainRequestInput } from "../../src/training/request.ts";
import type { ModelFile } from "../../src/versions/model-file-schema.ts";
import { sha256 } from "../../src/versions/model-files.ts";
import { decodeModelProto } from "../../src/versions/onnx/onnx-proto.ts";
import { decodeOutputs } from "../../src/versions/preprocessing/decode.ts";
import { encodeRows, type RawRow } from "../../src/versions/preprocessing/encode.ts";
import { encodedWidth, type Preprocessing } from "../../src/versions/preprocessing/schema.ts";
import type { Model, ModelVersion } from "../../src/versions/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { irisCsv, uploadCsv } from "../helpers/datasets.ts";
import {
  clustersRequest,
  type NetworkInput,
  slowRequest,
  XOR_INPUTS,
} from "../helpers/requests.ts";
import { startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";
import {
  failure,
  type GrpcClients,
  grpcClients,
  status,
  unary,
} from "../transport/grpc/helpers.ts";
import {
  doubleInput,
  floatInput,
  maxAbsDiff,
  runOnnx,
  stringInput,
} from "../versions/onnx/onnx-helpers.ts";

let db: TestDatabase;
let server: TestServer;
let emptyDb: TestDatabase;
let other: TestServer;
let grpc: GrpcClients;

const IMPORT_LIMIT = 200_000;

beforeAll(async () => {
  [db, emptyDb] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  [server, other] = await Promise.all([
    startTestServer({ databaseUrl: db.url, env: { WORKERS: "2" } }),
    startTestServer({
      databaseUrl: emptyDb.url,
      env: { IMPORT_BODY_LIMIT_BYTES: String(IMPORT_LIMIT) },
      runJobs: false,
    }),
  ]);
  grpc = grpcClients(server.grpcAddress);
});

afterAll(async () => {
  grpc?.close();
  await Promise.all([server?.close(), other?.close()]);
  await Promise.all([db?.close(), emptyDb?.close()]);
});

/** Rows on and off the training data, negative and large values included. */
const ROWS = [...XOR_INPUTS, [0.3, -0.7], [-2, 3], [4.5, 0.25], [-1, -1]];

function xorLike(model: string, hidden: NetworkInput["layers"][number]) {
  return {
    model,
    network: { inputs: 2, layers: [hidden, { units: 1, activation: "sigmoid" as const }] },
    loss: "binaryCrossentropy" as const,
    optimizer: { name: "adam" as const, learningRate: 0.05 },
    training: { epochs: 30, batchSize: 4, seed: 2, validationSplit: 0 },
    data: { inputs: XOR_INPUTS, targets: [[0], [1], [1], [0]] },
  };
}

const MODELS: Record<string, TrainRequestInput & { network: NetworkInput }> = {
  "act-relu": xorLike("act-relu", { units: 6, activation: "relu" }),
  "act-tanh": xorLike("act-tanh", { units: 6, activation: "tanh" }),
  "act-sigmoid": xorLike("act-sigmoid", { units: 6, activation: "sigmoid" }),
  "act-leaky": xorLike("act-leaky", { units: 6, activation: "leakyRelu", alpha: 0.2 }),
  "act-elu": xorLike("act-elu", { units: 6, activation: "elu", alpha: 0.5 }),
  classifier: { ...clustersRequest("classifier"), training: { epochs: 30, batchSize: 8, seed: 3 } },
  regressor: {
    model: "regressor",
    network: {
      inputs: 2,
      layers: [
        { units: 5, activation: "tanh" },
        { units: 2, activation: "linear" },
      ],
    },
    loss: "mse",
    optimizer: { name: "adam", learningRate: 0.02 },
    training: { epochs: 30, batchSize: 4, seed: 4 },
    data: { inputs: ROWS, targets: ROWS.map(([a, b]) => [a! + 2 * b!, a! * b!]) },
  },
  perceptron: {
    model: "perceptron",
    network: { inputs: 2, layers: [{ units: 1, activation: "step" }] },
    loss: "mse",
    optimizer: { name: "sgd", learningRate: 0.1 },
    training: { epochs: 20, batchSize: 1, seed: 5 },
    data: { inputs: XOR_INPUTS, targets: [[0], [1], [1], [1]] },
  },
};

let trained: Promise<void> | undefined;
/** Trains every model of MODELS once (in parallel), for the tests that need them. */
function trainAll(): Promise<void> {
  trained ??= (async () => {
    const jobs = await Promise.all(
      Object.values(MODELS).map(async (request) => {
        const accepted = await server.http.post<TrainAccepted>("/train", request);
        expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
        return accepted.body.jobId;
      }),
    );
    for (const id of jobs) {
      const job = await waitForJob(server.http, id, undefined, 60_000);
      expect(job.status, JSON.stringify(job)).toBe("succeeded");
    }
  })();
  return trained;
}

async function download(base: string, path: string) {
  const response = await fetch(`${base}${path}`);
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    disposition: response.headers.get("content-disposition"),
    bytes: new Uint8Array(await response.arrayBuffer()),
  };
}

async function predict(target: TestServer, model: string, inputs: number[][], version?: number) {
  const response = await target.http.post<PredictResponse>("/predict", {
    model,
    inputs,
    ...(version === undefined ? {} : { version }),
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

describe("ONNX export of trained models", () => {
  for (const [name, request] of Object.entries(MODELS)) {
    const activations = request.network.layers.map((l) => l.activation).join(" -> ");
    it(`${name} (${activations}): onnxruntime gives /predict's outputs`, async () => {
      await trainAll();
      const file = await download(server.url, `/models/${name}/versions/1/onnx`);
      expect(file.status).toBe(200);
      expect(file.type).toBe("application/onnx");
      expect(file.disposition).toBe(`attachment; filename="${name}-v1.onnx"`);

      const served = await predict(server, name, ROWS);
      const out = await runOnnx(file.bytes, { input: floatInput(ROWS) });
      const units = request.network.layers.at(-1)!.units;
      expect(out.output!.dims).toEqual([ROWS.length, units]);
      expect(maxAbsDiff(out.output!.data as Float32Array, served.outputs.flat())).toBeLessThan(
        1e-5,
      );
      if (served.classes) {
        expect(Array.from(out.class!.data as BigInt64Array, Number)).toEqual(served.classes);
      } else {
        expect(out.class).toBeUndefined();
      }
    });
  }

  it("a perceptron's step outputs are exactly 0 or 1, as the engine's", async () => {
    await trainAll();
    const file = await download(server.url, "/models/perceptron/versions/1/onnx");
    const out = await runOnnx(file.bytes, { input: floatInput(ROWS) });
    const served = await predict(server, "perceptron", ROWS);
    expect(Array.from(out.output!.data as Float32Array)).toEqual(served.outputs.flat());
    expect(new Set(served.outputs.flat())).toEqual(new Set([0, 1]));
  });

  it("gRPC ExportOnnx gives the same file as REST", async () => {
    await trainAll();
    const rest = await download(server.url, "/models/classifier/versions/1/onnx");
    const reply = await unary<ModelFile__Output>((cb) =>
      grpc.models.ExportOnnx({ name: "classifier", version: 1 }, cb),
    );
    expect(reply.filename).toBe("classifier-v1.onnx");
    expect(reply.mediaType).toBe("application/onnx");
    expect(new Uint8Array(reply.content)).toEqual(rest.bytes);
    const model = decodeModelProto(rest.bytes) as { producerName: string; modelVersion: number };
    expect(model).toMatchObject({ producerName: "nnserve", modelVersion: 1 });
  });

  it("answers 404 for an unknown model or version, 409 for a version not trained yet", async () => {
    await trainAll();
    const noModel = await server.http.get<Problem>("/models/nope/versions/1/onnx");
    expect(noModel.status).toBe(404);
    expect(noModel.body.detail).toBe('No model "nope" exists.');
    const noVersion = await server.http.get<Problem>("/models/classifier/versions/9/export");
    expect(noVersion.status).toBe(404);
    expect(noVersion.body.detail).toBe('No model version "classifier@9" exists.');
    const badVersion = await server.http.get<Problem>("/models/classifier/versions/zero/onnx");
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.errors?.[0]?.path).toBe("version");
    const grpcBadVersion = await failure(
      unary((cb) => grpc.models.ExportOnnx({ name: "classifier", version: 0 }, cb)),
    );
    expect(grpcBadVersion.code).toBe(status.INVALID_ARGUMENT);
    expect(grpcBadVersion.details).toMatch(/ version: must be a whole number >= 1$/);
    const grpcNoModel = await failure(
      unary((cb) => grpc.models.ExportOnnx({ name: "nope", version: 1 }, cb)),
    );
    expect(grpcNoModel.code).toBe(status.NOT_FOUND);

    const accepted = await server.http.post<TrainAccepted>("/train", slowRequest("busy", 500));
    expect(accepted.status).toBe(202);
    for (const what of ["onnx", "export"]) {
      const early = await server.http.get<Problem>(`/models/busy/versions/1/${what}`);
      expect(early.status).toBe(409);
      expect(early.body.detail).toMatch(
        /^Version 1 of model "busy" is (pending|training), not ready; only a trained version exports\.$/,
      );
    }
    const grpcEarly = await failure(
      unary((cb) => grpc.models.ExportModel({ name: "busy", version: 1 }, cb)),
    );
    expect(grpcEarly.code).toBe(status.FAILED_PRECONDITION);
    await server.http.post(`/jobs/${accepted.body.jobId}/cancel`);
  });
});

describe("the portable model file", () => {
  it("exports everything a version is, and imports into an empty database with identical predictions", async () => {
    await trainAll();
    const exported = await server.http.get<ModelFile>("/models/classifier/versions/1/export");
    expect(exported.status).toBe(200);
    expect(exported.headers.get("content-disposition")).toBe(
      'attachment; filename="classifier-v1.nnserve.json"',
    );
    const file = exported.body;
    expect(file).toMatchObject({
      format: "nnserve.model",
      formatVersion: 1,
      nnserveVersion: "0.1.0",
      source: { model: "classifier", version: 1 },
      architecture: { format: "nnserve.network", version: 1, inputs: 2, parameterCount: 51 },
      training: { loss: "sparseCategoricalCrossentropy", seed: 3, labels: true },
      preprocessing: null,
      evaluation: null,
      weights: { encoding: "float32le-base64", parameterCount: 51 },
    });
    expect(file.metrics?.loss).toEqual(expect.any(Number));
    expect(file.weights.sha256).toBe(sha256(Buffer.from(file.weights.data, "base64")));
    expect(file.trainedAt).toEqual(expect.any(String));

    expect((await other.http.get("/models")).body).toEqual({ items: [] });
    const imported = await other.http.post<ModelVersion>("/models/moved/import", file);
    expect(imported.status, JSON.stringify(imported.body)).toBe(201);
    expect(imported.body).toMatchObject({
      version: 1,
      jobId: null,
      status: "ready",
      loss: "sparseCategoricalCrossentropy",
      parameters: 51,
      seed: 3,
      trainedAt: file.trainedAt,
    });
    const before = await predict(server, "classifier", ROWS);
    const after = await predict(other, "moved", ROWS);
    expect(after.outputs).toEqual(before.outputs);
    expect(after.classes).toEqual(before.classes);

    // Exported again from its new home: the same weights, bit for bit.
    const again = await other.http.get<ModelFile>("/models/moved/versions/1/export");
    expect(again.body.weights).toEqual(file.weights);
    const model = await other.http.get<Model>("/models/moved");
    expect(model.body.versions.map((v) => v.jobId)).toEqual([null]);
  });

  it("over gRPC too: ExportModel then ImportModel makes the next version", async () => {
    await trainAll();
    const exported = await unary<ModelFile__Output>((cb) =>
      grpc.models.ExportModel({ name: "regressor", version: 1 }, cb),
    );
    expect(exported).toMatchObject({
      filename: "regressor-v1.nnserve.json",
      mediaType: "application/json",
    });
    const otherGrpc = grpcClients(other.grpcAddress);
    try {
      const first = await unary<ModelVersion__Output>((cb) =>
        otherGrpc.models.ImportModel({ name: "reg", content: exported.content }, cb),
      );
      const second = await unary<ModelVersion__Output>((cb) =>
        otherGrpc.models.ImportModel({ name: "reg", content: exported.content }, cb),
      );
      expect([first.version, second.version]).toEqual([1, 2]);
      expect(second).toMatchObject({ status: "VERSION_STATUS_READY", jobId: "" });
      const served = await predict(server, "regressor", ROWS);
      expect((await predict(other, "reg", ROWS)).outputs).toEqual(served.outputs);
      expect((await predict(other, "reg", ROWS, 1)).outputs).toEqual(served.outputs);

      const broken = await failure(
        unary((cb) => otherGrpc.models.ImportModel({ name: "reg", content: Buffer.from("{") }, cb)),
      );
      expect(broken.code).toBe(status.INVALID_ARGUMENT);
      expect(broken.details).toMatch(/^content is not a JSON model file: /);
      const wrong = JSON.parse(exported.content.toString()) as ModelFile;
      wrong.weights.sha256 = "0".repeat(64);
      const refused = await failure(
        unary((cb) =>
          otherGrpc.models.ImportModel(
            { name: "reg", content: Buffer.from(JSON.stringify(wrong)) },
            cb,
          ),
        ),
      );
      expect(refused.code).toBe(status.INVALID_ARGUMENT);
      expect(refused.details).toMatch(
        /^Invalid model file: weights\.sha256 does not match the weights/,
      );
    } finally {
      otherGrpc.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Preprocessing: versions made by importing a file that carries it.

const PREPROCESSING_FEATURES: Preprocessing["features"] = [
  { name: "age", type: "numeric", scaling: "standard", center: 38.2, scale: 11.7, impute: 38.2 },
  { name: "plan", type: "categorical", categories: ["free", "pro", "team"], unknown: "error" },
  { name: "spend", type: "numeric", scaling: "minmax", center: 0, scale: 1200 },
];

const RAW = [
  { age: 25, plan: "free", spend: 0 },
  { age: 61, plan: "team", spend: 1150.5 },
  { age: 44.5, plan: "pro", spend: 300 },
  { age: 19, plan: "pro", spend: 12.25 },
];

/** Scores as a dataset-trained version stores them (src/versions/evaluation-schema.ts). */
const EVALUATION = {
  task: "regression",
  rows: 10,
  mae: 1.5,
  rmse: 2.25,
  r2: 0.9,
} as const;

async function predictRaw(target: TestServer, model: string, rows: readonly object[]) {
  const response = await target.http.post<PredictResponse>("/predict", { model, inputs: rows });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

/** The engine's network of a portable file: the reference the served model must match. */
function network(file: ModelFile) {
  return loadNetwork(file.architecture, new Uint8Array(Buffer.from(file.weights.data, "base64")));
}

/** A portable file for a fresh network of `spec` (inputs from the features) with `preprocessing`. */
function fileWith(
  preprocessing: Preprocessing,
  spec: Omit<NetworkSpec, "inputs">,
  loss: "categoricalCrossentropy" | "mse",
): ModelFile {
  const network = createNetwork(
    { inputs: encodedWidth(preprocessing.features), ...spec },
    { seed: 21 },
  );
  const { architecture, weights } = saveNetwork(network);
  return {
    format: "nnserve.model",
    formatVersion: 1,
    architecture: architecture as unknown as Record<string, unknown>,
    training: {
      loss,
      optimizer: { name: "adam", learningRate: 0.001 },
      epochs: 10,
      batchSize: 16,
      shuffle: true,
      seed: 21,
      validationSplit: 0,
      labels: false,
    },
    preprocessing,
    evaluation: EVALUATION,
    metrics: { loss: 0.25 },
    weights: {
      encoding: "float32le-base64",
      parameterCount: network.parameterCount,
      sha256: sha256(weights),
      data: Buffer.from(weights).toString("base64"),
    },
    trainedAt: "2026-12-01T10:00:00.000Z",
  };
}

const rawFeeds = (rows: typeof RAW) => ({
  numeric: doubleInput(rows.map((r) => [r.age, r.spend])),
  plan: stringInput(rows.map((r) => r.plan)),
});

describe("ONNX export with preprocessing", () => {
  it("a classifier predicts labels from raw rows, as the engine on encodeRows and decodeOutputs", async () => {
    const preprocessing: Preprocessing = {
      formatVersion: 1,
      features: PREPROCESSING_FEATURES,
      target: { name: "churn", type: "categorical", classes: ["stay", "leave", "upgrade"] },
    };
    const file = fileWith(
      preprocessing,
      {
        layers: [
          { units: 6, activation: "relu" },
          { units: 3, activation: "softmax" },
        ],
      },
      "categoricalCrossentropy",
    );
    const imported = await server.http.post<ModelVersion>("/models/churn/import", file);
    expect(imported.status, JSON.stringify(imported.body)).toBe(201);

    const onnx = await download(server.url, "/models/churn/versions/1/onnx");
    const out = await runOnnx(onnx.bytes, rawFeeds(RAW));
    // /predict takes the same raw rows by feature name and applies the stored preprocessing.
    const served = await predictRaw(server, "churn", RAW);
    expect(maxAbsDiff(out.output!.data as Float32Array, served.outputs.flat())).toBeLessThan(1e-5);
    const labels = served.predictions!.map((p) => ("label" in p ? p.label : ""));
    expect(out.label!.data).toEqual(labels);
    // And both agree with the reference meaning of the preprocessing, on the engine.
    const reference = network(file).predict(
      encodeRows(preprocessing, RAW as unknown as RawRow[]),
      RAW.length,
    );
    expect(maxAbsDiff(reference, served.outputs.flat())).toBeLessThan(1e-6);
    expect(labels).toEqual(
      decodeOutputs(preprocessing, reference, 3).map((p) => ("label" in p ? p.label : "")),
    );

    const meta = Object.fromEntries(
      (decodeModelProto(onnx.bytes).metadataProps as { key: string; value: string }[]).map((p) => [
        p.key,
        p.value,
      ]),
    );
    expect(JSON.parse(meta.feature_names!)).toEqual(["age", "plan", "spend"]);
    expect(JSON.parse(meta.class_labels!)).toEqual(["stay", "leave", "upgrade"]);
    expect(JSON.parse(meta.preprocessing!)).toEqual(preprocessing);

    const exported = await server.http.get<ModelFile>("/models/churn/versions/1/export");
    expect(exported.body).toMatchObject({ preprocessing, evaluation: EVALUATION });
  });

  it("a regressor gives values in the target's units", async () => {
    const preprocessing: Preprocessing = {
      formatVersion: 1,
      features: PREPROCESSING_FEATURES,
      target: { name: "ltv", type: "numeric", center: 520, scale: 130 },
    };
    const file = fileWith(
      preprocessing,
      {
        layers: [
          { units: 4, activation: "elu" },
          { units: 1, activation: "linear" },
        ],
      },
      "mse",
    );
    expect((await server.http.post("/models/ltv/import", file)).status).toBe(201);
    const onnx = await download(server.url, "/models/ltv/versions/1/onnx");
    const out = await runOnnx(onnx.bytes, rawFeeds(RAW));
    const served = await predictRaw(server, "ltv", RAW);
    const values = served.predictions!.map((p) => ("value" in p ? p.value : Number.NaN));
    expect(maxAbsDiff(out.value!.data as Float64Array, values) / 520).toBeLessThan(1e-5);
    const reference = network(file).predict(
      encodeRows(preprocessing, RAW as unknown as RawRow[]),
      RAW.length,
    );
    const expected = decodeOutputs(preprocessing, reference, 1).map((p) =>
      "value" in p ? p.value : Number.NaN,
    );
    expect(maxAbsDiff(expected, values) / 520).toBeLessThan(1e-6);
  });
});

describe("ONNX export of a model trained from a dataset", () => {
  it("predicts from the CSV's raw rows what /predict answers by feature name", async () => {
    const csv = await irisCsv();
    const dataset = await uploadCsv(server.url, "iris-onnx", csv);
    const accepted = await server.http.post<TrainAccepted>("/train", {
      model: "iris-onnx",
      dataset: dataset.id,
      target: "species",
      network: {
        layers: [
          { units: 8, activation: "relu" },
          { units: 3, activation: "softmax" },
        ],
      },
      loss: "categoricalCrossentropy",
      optimizer: { name: "adam", learningRate: 0.05 },
      training: { epochs: 40, batchSize: 16, seed: 3, testSplit: 0.2 },
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");

    // Every row of the file, as a client would send it: the raw numbers, keyed by column name.
    const [header, ...lines] = csv.trim().split(/\r?\n/);
    const names = header!.split(",");
    const rows = lines.map((line) => {
      const cells = line.split(",");
      return Object.fromEntries(names.slice(0, 4).map((n, i) => [n, Number(cells[i])]));
    });
    const served = await predictRaw(server, "iris-onnx", rows);
    const onnx = await download(server.url, "/models/iris-onnx/versions/1/onnx");
    const out = await runOnnx(onnx.bytes, {
      numeric: doubleInput(rows.map((r) => names.slice(0, 4).map((n) => r[n]!))),
    });
    expect(maxAbsDiff(out.output!.data as Float32Array, served.outputs.flat())).toBeLessThan(1e-5);
    expect(out.label!.data).toEqual(served.predictions!.map((p) => ("label" in p ? p.label : "")));
    // A model worth exporting: it learned the flowers.
    const truth = lines.map((line) => line.split(",")[4]);
    const right = (out.label!.data as string[]).filter((label, i) => label === truth[i]).length;
    expect(right / rows.length).toBeGreaterThan(0.9);

    // Moved to another installation (an empty database) with its preprocessing and evaluation,
    // it answers the same rows by name with the same outputs and labels.
    const file = await server.http.get<ModelFile>("/models/iris-onnx/versions/1/export");
    expect(file.body.preprocessing?.target).toMatchObject({ name: "species" });
    expect(file.body.evaluation).toMatchObject({ task: "classification", rows: 30 });
    expect((await other.http.post("/models/iris-moved/import", file.body)).status).toBe(201);
    const moved = await predictRaw(other, "iris-moved", rows);
    expect(moved.outputs).toEqual(served.outputs);
    expect(moved.predictions).toEqual(served.predictions);
  });
});

// ---------------------------------------------------------------------------------------------
// Bad files

describe("importing a bad file", () => {
  const good = () =>
    fileWith(
      {
        formatVersion: 1,
        features: PREPROCESSING_FEATURES,
        target: { name: "t", type: "categorical", classes: ["no", "yes"] },
      },
      { layers: [{ units: 2, activation: "tanh" }] },
      "mse",
    );

  const cases: [string, (file: ModelFile) => unknown, string, RegExp | string][] = [
    ["another format", (f) => ({ ...f, format: "onnx" }), "format", 'must be "nnserve.model"'],
    [
      "a newer format version",
      (f) => ({ ...f, formatVersion: 2 }),
      "formatVersion",
      "unsupported version; this server reads version 1",
    ],
    ["an unknown field", (f) => ({ ...f, weight: 1 }), "weight", /Did you mean "weights"\?/i],
    [
      "a layer without units",
      (f) => ({ ...f, architecture: { ...f.architecture, layers: [{ activation: "tanh" }] } }),
      "architecture.layers[0].units",
      /integer/,
    ],
    [
      "a wrong parameter count in the architecture",
      (f) => ({ ...f, architecture: { ...f.architecture, parameterCount: 7 } }),
      "architecture.parameterCount",
      "is 7, but the layers describe 12 parameters",
    ],
    [
      "a wrong parameter count for the weights",
      (f) => ({ ...f, weights: { ...f.weights, parameterCount: 13 } }),
      "weights.parameterCount",
      "is 13, but the architecture has 12 parameters",
    ],
    [
      "weights cut short",
      (f) => {
        const bytes = Buffer.from(f.weights.data, "base64").subarray(0, 44);
        return {
          ...f,
          weights: { ...f.weights, data: bytes.toString("base64"), sha256: sha256(bytes) },
        };
      },
      "weights.data",
      "must be 48 bytes (12 float32 parameters for this architecture), got 44",
    ],
    [
      "weights changed after export",
      (f) => {
        const bytes = Buffer.from(f.weights.data, "base64");
        bytes[0]! ^= 1;
        return { ...f, weights: { ...f.weights, data: bytes.toString("base64") } };
      },
      "weights.sha256",
      /^does not match the weights \(their sha256 is [0-9a-f]{64}\); the file was changed or damaged$/,
    ],
    [
      "a NaN weight",
      (f) => {
        const bytes = Buffer.from(f.weights.data, "base64");
        bytes.writeFloatLE(Number.NaN, 8);
        return {
          ...f,
          weights: { ...f.weights, data: bytes.toString("base64"), sha256: sha256(bytes) },
        };
      },
      "weights.data",
      "layer 0 kernel value 2 (byte 8) is not finite: NaN",
    ],
    [
      "finite weights that overflow float32 (outputs Infinity)",
      (f) => {
        const bytes = Buffer.alloc(48);
        for (let i = 0; i < 12; i++) bytes.writeFloatLE(3e38, i * 4);
        const layers = [{ units: 2, activation: "linear" }];
        return {
          ...f,
          architecture: { ...f.architecture, layers },
          weights: { ...f.weights, data: bytes.toString("base64"), sha256: sha256(bytes) },
        };
      },
      "weights.data",
      /give non-finite outputs .* overflow float32/,
    ],
    [
      "weights that are not base64",
      (f) => ({ ...f, weights: { ...f.weights, data: "not base64!" } }),
      "weights.data",
      "must be base64",
    ],
    [
      "preprocessing for another input width",
      (f) => ({
        ...f,
        preprocessing: { ...f.preprocessing!, features: PREPROCESSING_FEATURES.slice(0, 2) },
      }),
      "preprocessing.features",
      "encode to 4 input columns, but the network takes 5",
    ],
    [
      "a numeric target on two output units",
      (f) => ({
        ...f,
        preprocessing: {
          ...f.preprocessing!,
          target: { name: "price", type: "numeric", center: 0, scale: 1 },
        },
      }),
      "preprocessing.target",
      'is the one numeric column "price", but the network has 2 output units',
    ],
    [
      "an unknown loss",
      (f) => ({ ...f, training: { ...f.training, loss: "hinge" } }),
      "training.loss",
      /Invalid option/,
    ],
  ];

  for (const [what, change, path, message] of cases) {
    it(`refuses ${what} (${path})`, async () => {
      const response = await other.http.post<Problem>("/models/refused/import", change(good()));
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      expect(response.body.errors?.[0]?.path).toBe(path);
      const got = response.body.errors?.[0]?.message ?? "";
      if (typeof message === "string") expect(got).toBe(message);
      else expect(got).toMatch(message);
    });
  }

  it("leaves nothing behind, and accepts the good file", async () => {
    expect((await other.http.get("/models/refused")).status).toBe(404);
    const ok = await other.http.post<ModelVersion>("/models/refused/import", good());
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.version).toBe(1);
  });

  it("answers 413 past IMPORT_BODY_LIMIT_BYTES", async () => {
    const file = { ...good(), evaluation: { padding: "x".repeat(IMPORT_LIMIT) } };
    const response = await other.http.post<Problem>("/models/big/import", file);
    expect(response.status).toBe(413);
    expect(response.body.detail).toBe(
      `The request body is larger than the limit of ${IMPORT_LIMIT} bytes; the server's IMPORT_BODY_LIMIT_BYTES sets it.`,
    );
  });
});
