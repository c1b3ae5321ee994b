/**
 * What a gRPC client gets back for a bad request: the status code, and a message with the same
 * text and field paths as the REST API's problem (plus the field issues in trailing metadata).
 * Also: messages over GRPC_MAX_MESSAGE_BYTES, a cancelled WatchJob and an exceeded deadline,
 * after which nothing keeps running on the server.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Job__Output } from "../../../src/generated/grpc/nnserve/v1/Job.ts";
import type { JobEvent__Output } from "../../../src/generated/grpc/nnserve/v1/JobEvent.ts";
import type { TrainResponse__Output } from "../../../src/generated/grpc/nnserve/v1/TrainResponse.ts";
import {
  ERROR_CODE_METADATA,
  rpcMessages,
  STATUS_DETAILS_METADATA,
} from "../../../src/transport/grpc/status.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import type { InlineTrainRequest } from "../../helpers/requests.ts";
import { longXorRequest, slowRequest } from "../../helpers/requests.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import {
  failure,
  fieldIssues,
  type GrpcClients,
  grpcClients,
  readAll,
  status,
  trainMessage,
  unary,
} from "./helpers.ts";

let db: TestDatabase;
let server: TestServer;
let clients: GrpcClients;

const MAX_MESSAGE_BYTES = 256 * 1024;

/** A one-layer network with two inputs that trains in a few milliseconds. */
function perceptron(model: string): InlineTrainRequest {
  return {
    model,
    network: { inputs: 2, layers: [{ units: 1, activation: "sigmoid" }] },
    loss: "binaryCrossentropy",
    training: { epochs: 3, batchSize: 4, seed: 3 },
    data: {
      inputs: [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ],
      targets: [[0], [1], [1], [1]],
    },
  };
}

async function train(body: InlineTrainRequest) {
  const accepted = await unary<TrainResponse__Output>((cb) =>
    clients.training.Train(trainMessage(body), cb),
  );
  return accepted.jobId;
}

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    env: { GRPC_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES), MAX_PREDICT_ROWS: "100" },
  });
  clients = grpcClients(server.grpcAddress);
  const id = await train(perceptron("m"));
  await readAll(clients.training.WatchJob({ id }));
});

afterAll(async () => {
  clients?.close();
  await server?.close();
  await db?.close();
});

const withData = (data: InlineTrainRequest["data"]) => ({ ...perceptron("bad"), data });
const unknownJob = randomUUID();

type Case = [name: string, call: () => Promise<unknown>, code: number, details: string[]];

const train1 = (body: unknown, key?: string) => () =>
  unary((cb) => clients.training.Train(trainMessage(body as InlineTrainRequest, key), cb));
// biome-ignore lint/suspicious/noExplicitAny: requests a typed client would refuse to build
const predict = (req: any) => () => unary((cb) => clients.prediction.Predict(req, cb));
// biome-ignore lint/suspicious/noExplicitAny: as above
const infer = (req: any) => () => unary((cb) => clients.inference.ModelInfer(req, cb));
const tensor = (datatype: string, shape: number[], fp32: number[]) => ({
  modelName: "m",
  inputs: [{ name: "input", datatype, shape, contents: { fp32Contents: fp32 } }],
});

const cases: Case[] = [
  [
    "Train: a layer with zero units",
    train1({
      ...perceptron("bad"),
      network: { inputs: 2, layers: [{ units: 0, activation: "sigmoid" }] },
    }),
    status.INVALID_ARGUMENT,
    ["Invalid request", "network.layers[0].units: must be a whole number from 1 to"],
  ],
  [
    "Train: an unknown activation",
    train1({
      ...perceptron("bad"),
      network: { inputs: 2, layers: [{ units: 1, activation: "sigmoidd" }] },
    }),
    status.INVALID_ARGUMENT,
    ["network.layers[0].activation:"],
  ],
  [
    "Train: an option of another optimizer",
    train1({ ...perceptron("bad"), optimizer: { name: "sgd", beta1: 0.9 } }),
    status.INVALID_ARGUMENT,
    ['optimizer.beta1: Unknown field "beta1"'],
  ],
  [
    "Train: input values that are not whole rows",
    () =>
      unary((cb) =>
        clients.training.Train(
          {
            ...trainMessage(perceptron("bad")),
            data: { inputs: { width: 2, values: [0, 1, 1] }, targets: { width: 1, values: [1] } },
          },
          cb,
        ),
      ),
    status.INVALID_ARGUMENT,
    ["data.inputs.values: has 3 values, not a whole number of rows of width 2"],
  ],
  [
    "Train: a value that is not finite, named by row and column",
    train1(
      withData({
        inputs: [
          [0, 0],
          [0, Number.NaN],
        ],
        targets: [[0], [1]],
      }),
    ),
    status.INVALID_ARGUMENT,
    ["data.inputs[1][1]:"],
  ],
  [
    "Train: target rows of the wrong width",
    train1(withData({ inputs: [[0, 0]], targets: [[0, 1]] })),
    status.INVALID_ARGUMENT,
    ["data.targets[0]: has 2 values; the output layer has 1 units"],
  ],
  [
    "Train: no data",
    () =>
      unary((cb) => clients.training.Train({ ...trainMessage(perceptron("bad")), data: null }, cb)),
    status.INVALID_ARGUMENT,
    ["data: is required"],
  ],
  [
    "Train: an idempotency key with a space",
    train1(perceptron("bad"), "two words"),
    status.INVALID_ARGUMENT,
    ["idempotencyKey: must be 1-255 visible ASCII characters"],
  ],
  [
    "GetJob: an id that is not a UUID",
    () => unary((cb) => clients.training.GetJob({ id: "42" }, cb)),
    status.INVALID_ARGUMENT,
    ["id: must be a UUID"],
  ],
  [
    "GetJob: an unknown job",
    () => unary((cb) => clients.training.GetJob({ id: unknownJob }, cb)),
    status.NOT_FOUND,
    [`No job "${unknownJob}" exists.`],
  ],
  [
    "WatchJob: an unknown job",
    () => readAll(clients.training.WatchJob({ id: unknownJob })),
    status.NOT_FOUND,
    [`No job "${unknownJob}" exists.`],
  ],
  [
    "ListJobs: a page too large",
    () => unary((cb) => clients.training.ListJobs({ limit: 1000 }, cb)),
    status.INVALID_ARGUMENT,
    ["limit: must be a whole number from 1 to 100"],
  ],
  [
    "GetModel: a name with capitals",
    () => unary((cb) => clients.models.GetModel({ name: "Model" }, cb)),
    status.INVALID_ARGUMENT,
    ["name: must be 1-64 characters"],
  ],
  [
    "Predict: an unknown model",
    predict({ model: "ghost", inputs: { width: 2, values: [0, 1] } }),
    status.NOT_FOUND,
    ['No model "ghost" exists.'],
  ],
  [
    "Predict: an unknown version",
    predict({ model: "m", version: 9, inputs: { width: 2, values: [0, 1] } }),
    status.NOT_FOUND,
    ['No model version "m@9" exists.'],
  ],
  [
    "Predict: version 0",
    predict({ model: "m", version: 0, inputs: { width: 2, values: [0, 1] } }),
    status.INVALID_ARGUMENT,
    ["version: must be a whole number >= 1"],
  ],
  [
    "Predict: rows wider than the model's input",
    predict({ model: "m", inputs: { width: 3, values: [0, 1, 2] } }),
    status.INVALID_ARGUMENT,
    ["inputs[0]: has 3 values; the model takes 2"],
  ],
  [
    "Predict: no rows",
    predict({ model: "m", inputs: { width: 2, values: [] } }),
    status.INVALID_ARGUMENT,
    ["inputs: needs at least one row"],
  ],
  [
    "Predict: more rows than MAX_PREDICT_ROWS",
    predict({ model: "m", inputs: { width: 2, values: new Array(202).fill(0) } }),
    status.INVALID_ARGUMENT,
    ["inputs: has more than 100 rows"],
  ],
  [
    "Predict: a value that is not finite, named by row and column (values and packed alike)",
    predict({ model: "m", inputs: { width: 2, values: [0, 1, Number.NaN, 1] } }),
    status.INVALID_ARGUMENT,
    ["inputs[1][0]: must be a finite number"],
  ],
  [
    "Predict: an infinite packed value",
    predict({
      model: "m",
      inputs: {
        width: 2,
        packed: Buffer.from(new Float32Array([0, Number.POSITIVE_INFINITY]).buffer),
      },
    }),
    status.INVALID_ARGUMENT,
    ["inputs[0][1]: must be a finite number"],
  ],
  [
    "Predict: packed bytes that are not whole float32 values",
    predict({ model: "m", inputs: { width: 2, packed: Buffer.alloc(6) } }),
    status.INVALID_ARGUMENT,
    ["inputs.packed: has 6 bytes"],
  ],
  [
    "Predict: a message larger than GRPC_MAX_MESSAGE_BYTES",
    predict({ model: "m", inputs: { width: 2, packed: Buffer.alloc(MAX_MESSAGE_BYTES + 8) } }),
    status.RESOURCE_EXHAUSTED,
    [],
  ],
  [
    "ModelInfer: an unsupported datatype",
    infer(tensor("FP16", [1, 2], [0, 1])),
    status.INVALID_ARGUMENT,
    ['inputs[0].datatype: must be one of FP32, FP64, INT32, INT64; got "FP16"'],
  ],
  [
    "ModelInfer: a shape that is not [rows, width]",
    infer(tensor("FP32", [2], [0, 1])),
    status.INVALID_ARGUMENT,
    ["inputs[0].shape: must be [rows, width]"],
  ],
  [
    "ModelInfer: fewer elements than the shape says",
    infer(tensor("FP32", [2, 2], [0, 1, 1])),
    status.INVALID_ARGUMENT,
    ["inputs[0].contents.fp32_contents: has 3 elements; shape [2, 2] needs 4 elements"],
  ],
  [
    "ModelInfer: a width the model does not take",
    infer(tensor("FP32", [1, 3], [0, 1, 1])),
    status.INVALID_ARGUMENT,
    ['inputs[0].shape: is [1, 3]; model "m" takes [-1, 2]'],
  ],
  [
    "ModelInfer: a value that is not finite, by its index in the tensor",
    infer(tensor("FP32", [2, 2], [0, 1, 1, Number.POSITIVE_INFINITY])),
    status.INVALID_ARGUMENT,
    ["inputs[0].contents.fp32_contents[3]:"],
  ],
  [
    "ModelInfer: contents in the field of another datatype",
    infer({
      modelName: "m",
      inputs: [
        { name: "input", datatype: "FP32", shape: [1, 2], contents: { fp64Contents: [0, 1] } },
      ],
    }),
    status.INVALID_ARGUMENT,
    ["inputs[0].contents: datatype FP32 takes fp32_contents; got fp64_contents"],
  ],
  [
    "ModelInfer: raw bytes and contents at once",
    infer({
      ...tensor("FP32", [1, 2], [0, 1]),
      rawInputContents: [Buffer.alloc(8)],
    }),
    status.INVALID_ARGUMENT,
    ["inputs[0].contents: must be empty when raw_input_contents is used"],
  ],
  [
    "ModelInfer: raw bytes of the wrong length",
    infer({
      modelName: "m",
      inputs: [{ name: "input", datatype: "FP64", shape: [1, 2] }],
      rawInputContents: [Buffer.alloc(8)],
    }),
    status.INVALID_ARGUMENT,
    ["raw_input_contents[0]: has 8 bytes (8 per FP64 element); shape [1, 2] needs 2 elements"],
  ],
  [
    "ModelInfer: two input tensors",
    infer({
      modelName: "m",
      inputs: [tensor("FP32", [1, 2], [0, 1]).inputs[0], tensor("FP32", [1, 2], [0, 1]).inputs[0]],
    }),
    status.INVALID_ARGUMENT,
    ["inputs: needs exactly one tensor"],
  ],
  [
    "ModelInfer: an output the model does not have",
    infer({ ...tensor("FP32", [1, 2], [0, 1]), outputs: [{ name: "probabilities" }] }),
    status.INVALID_ARGUMENT,
    ['outputs[0].name: the model has no output "probabilities"; it has "output", "classes"'],
  ],
  [
    "ModelInfer: a version that is neither a number nor an alias",
    infer({ ...tensor("FP32", [1, 2], [0, 1]), modelVersion: "Latest" }),
    status.INVALID_ARGUMENT,
    [
      'model_version: must be a version number (1, 2, ...), an alias (production, staging, ...) or ""',
    ],
  ],
  [
    "ModelInfer: an unknown model",
    infer({ ...tensor("FP32", [1, 2], [0, 1]), modelName: "ghost" }),
    status.NOT_FOUND,
    ['No model "ghost" exists.'],
  ],
  [
    "ModelMetadata: an unknown version",
    () => unary((cb) => clients.inference.ModelMetadata({ name: "m", version: "7" }, cb)),
    status.NOT_FOUND,
    ['No model version "m@7" exists.'],
  ],
];

describe("bad requests", () => {
  it.each(cases)("%s", async (_name, call, code, details) => {
    const error = await failure(call());
    expect(error.code, error.details).toBe(code);
    for (const text of details) expect(error.details).toContain(text);
  });

  it("sends the field issues and the error code in the trailing metadata too", async () => {
    const error = await failure(
      unary((cb) =>
        clients.prediction.Predict({ model: "m", inputs: { width: 3, values: [0, 1, 2] } }, cb),
      ),
    );
    expect(error.metadata.get(ERROR_CODE_METADATA)).toEqual(["VALIDATION_FAILED"]);
    expect(fieldIssues(error.metadata)).toEqual([
      { path: "inputs[0]", message: "has 3 values; the model takes 2" },
    ]);

    // Google's rich error model, as standard client libraries read it.
    const [bytes] = error.metadata.get(STATUS_DETAILS_METADATA);
    const details = rpcMessages.Status.deserialize(bytes as Buffer);
    expect(details).toMatchObject({ code: status.INVALID_ARGUMENT, message: error.details });
    expect(details.details.map((d) => d.type_url)).toEqual([
      "type.googleapis.com/google.rpc.ErrorInfo",
      "type.googleapis.com/google.rpc.BadRequest",
    ]);
    expect(rpcMessages.ErrorInfo.deserialize(details.details[0]!.value)).toMatchObject({
      reason: "VALIDATION_FAILED",
      domain: "nnserve.dev",
    });
    expect(rpcMessages.BadRequest.deserialize(details.details[1]!.value)).toEqual({
      fieldViolations: [{ field: "inputs[0]", description: "has 3 values; the model takes 2" }],
    });
  });

  it("sends an ErrorInfo without a BadRequest when no field is to blame", async () => {
    const error = await failure(unary((cb) => clients.training.GetJob({ id: unknownJob }, cb)));
    const [bytes] = error.metadata.get(STATUS_DETAILS_METADATA);
    const details = rpcMessages.Status.deserialize(bytes as Buffer);
    expect(details.code).toBe(status.NOT_FOUND);
    expect(details.details).toHaveLength(1);
    expect(rpcMessages.ErrorInfo.deserialize(details.details[0]!.value).reason).toBe("NOT_FOUND");
  });
});

describe("cancelled streams and deadlines", () => {
  let longJob: string;

  beforeAll(async () => {
    // 256 rows a step at a time for 10,000 epochs: far longer than these tests, which cancel it.
    longJob = await train(slowRequest("long", 10_000));
  });

  it("stops watching when the client cancels the stream", async () => {
    const call = clients.training.WatchJob({ id: longJob });
    const ended = readAll<JobEvent__Output>(call, (event) => {
      if (event.epoch) call.cancel();
    });
    expect((await failure(ended)).code).toBe(status.CANCELLED);
    await vi.waitFor(() => expect(server.grpc.activeWatches()).toBe(0));
  });

  it("ends a watch whose deadline passes with DEADLINE_EXCEEDED, and leaves nothing running", async () => {
    const call = clients.training.WatchJob({ id: longJob }, { deadline: Date.now() + 300 });
    const error = await failure(readAll(call));
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    await vi.waitFor(() => expect(server.grpc.activeWatches()).toBe(0));

    // The server goes on: the job can be cancelled, and a new watch sees the cancel request.
    const cancelled = await unary<Job__Output>((cb) =>
      clients.training.CancelJob({ id: longJob }, cb),
    );
    expect(cancelled.cancelRequested).toBe(true);
    const again = clients.training.WatchJob({ id: longJob });
    const againEnded = failure(readAll(again));
    const first = await new Promise<JobEvent__Output>((resolve) => again.once("data", resolve));
    expect(first.job ?? first.epoch).toBeTruthy();
    again.cancel();
    expect((await againEnded).code).toBe(status.CANCELLED);
    await vi.waitFor(() => expect(server.grpc.activeWatches()).toBe(0));
  });

  it("answers a unary call whose deadline has passed with DEADLINE_EXCEEDED", async () => {
    const error = await failure(
      unary((cb) =>
        clients.prediction.Predict(
          { model: "m", inputs: { width: 2, values: [0, 1] } },
          { deadline: Date.now() - 1 },
          cb,
        ),
      ),
    );
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    expect(await unary((cb) => clients.inference.ServerLive({}, cb))).toEqual({ live: true });
  });
});

describe("shutdown", () => {
  it("ends open watches with UNAVAILABLE and stops REST and gRPC together", async () => {
    const id = await train(longXorRequest("at-shutdown", 10_000));
    const call = clients.training.WatchJob({ id });
    let closing: Promise<void> | undefined;
    const ended = readAll<JobEvent__Output>(call, () => {
      closing ??= server.close();
    });
    const error = await failure(ended);
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(error.details).toContain("shutting down");
    await closing;
    expect(server.grpc.activeWatches()).toBe(0);
    expect((await failure(unary((cb) => clients.inference.ServerLive({}, cb)))).code).toBe(
      status.UNAVAILABLE,
    );
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
