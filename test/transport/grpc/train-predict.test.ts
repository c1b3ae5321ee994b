/**
 * nnserve.v1 and the Open Inference Protocol driven by real grpc-js clients against a whole
 * in-process server (startNnserve, gRPC on port 0, one training thread, real Postgres): train
 * XOR, watch the job to its end, predict with both row forms, infer with both content forms, and
 * the model and job listings.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelInferResponse__Output } from "../../../src/generated/grpc/inference/ModelInferResponse.ts";
import type { ModelMetadataResponse__Output } from "../../../src/generated/grpc/inference/ModelMetadataResponse.ts";
import type { Job__Output } from "../../../src/generated/grpc/nnserve/v1/Job.ts";
import type { JobEvent__Output } from "../../../src/generated/grpc/nnserve/v1/JobEvent.ts";
import type { JobMetrics__Output } from "../../../src/generated/grpc/nnserve/v1/JobMetrics.ts";
import type { ListJobsResponse__Output } from "../../../src/generated/grpc/nnserve/v1/ListJobsResponse.ts";
import type { ListModelsResponse__Output } from "../../../src/generated/grpc/nnserve/v1/ListModelsResponse.ts";
import type { Model__Output } from "../../../src/generated/grpc/nnserve/v1/Model.ts";
import type { PredictResponse__Output } from "../../../src/generated/grpc/nnserve/v1/PredictResponse.ts";
import type { TrainResponse__Output } from "../../../src/generated/grpc/nnserve/v1/TrainResponse.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { XOR_INPUTS, xorRequest } from "../../helpers/requests.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { XOR_LABELS } from "../../helpers/xor.ts";
import {
  failure,
  float32Bytes,
  fromFloat32Bytes,
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

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  clients = grpcClients(server.grpcAddress);
});

afterAll(async () => {
  clients?.close();
  await server?.close();
  await db?.close();
});

const XOR_FLAT = XOR_INPUTS.flat();
const XOR_TRUTH = XOR_LABELS;

let jobId: string;
let epochsRun: number;
/** Predict's answer for the XOR rows, which ModelInfer must repeat. */
let xorOutputs: number[];

function watch(id: string) {
  return readAll<JobEvent__Output>(clients.training.WatchJob({ id }));
}

describe("Train -> WatchJob -> Predict", () => {
  it("queues a job, streams its state and every epoch until it succeeds, then predicts XOR", async () => {
    const accepted = await unary<TrainResponse__Output>((cb) =>
      clients.training.Train(trainMessage(xorRequest("xor")), cb),
    );
    expect(accepted).toMatchObject({ model: "xor", version: 1, created: true });
    expect(["JOB_STATUS_QUEUED", "JOB_STATUS_RUNNING"]).toContain(accepted.status);
    jobId = accepted.jobId;

    const events = await watch(jobId);
    const epochs = events.flatMap((e) => (e.epoch ? [e.epoch] : []));
    const jobs = events.flatMap((e) => (e.job ? [e.job] : []));
    expect(events.every((e) => (e.event === "job") === Boolean(e.job))).toBe(true);

    // Each epoch once, in order, each with its metrics; the last message is the final state.
    epochsRun = epochs.length;
    expect(epochsRun).toBeGreaterThan(0);
    expect(epochs.map((e) => e.epoch)).toEqual(Array.from({ length: epochsRun }, (_, i) => i + 1));
    for (const epoch of epochs) {
      expect(Number.isFinite(epoch.metrics!.loss)).toBe(true);
      expect(epoch.metrics!.accuracy).toBeGreaterThanOrEqual(0);
      expect(epoch.metrics!.valLoss).toBeUndefined();
    }
    const last = events.at(-1)!;
    expect(last.job).toMatchObject({
      id: jobId,
      status: "JOB_STATUS_SUCCEEDED",
      progress: { epoch: epochsRun, epochs: 500 },
      error: "",
    });
    expect(Number(last.job!.finishedAt!.seconds)).toBeGreaterThan(0);
    expect(jobs.length).toBeGreaterThanOrEqual(2); // at least queued/running, then succeeded
    expect(new Set(jobs.map((j) => JSON.stringify(j))).size).toBe(jobs.length);

    const metrics = await unary<JobMetrics__Output>((cb) =>
      clients.training.GetJobMetrics({ id: jobId }, cb),
    );
    expect(metrics.epochs.map((e) => e.epoch)).toEqual(epochs.map((e) => e.epoch));
    expect(metrics.epochs.at(-1)!.metrics!.loss).toBe(epochs.at(-1)!.metrics!.loss);

    const predicted = await unary<PredictResponse__Output>((cb) =>
      clients.prediction.Predict({ model: "xor", inputs: { width: 2, values: XOR_FLAT } }, cb),
    );
    expect(predicted).toMatchObject({ model: "xor", version: 1, classes: XOR_TRUTH });
    expect(predicted.outputs!.width).toBe(1);
    expect(predicted.outputs!.packed).toHaveLength(0);
    xorOutputs = predicted.outputs!.values;
    expect(xorOutputs.map((p) => (p >= 0.5 ? 1 : 0))).toEqual(XOR_TRUTH);
  });

  it("gives a watcher that connects after the end the whole history, then ends", async () => {
    const events = await watch(jobId);
    const epochs = events.flatMap((e) => (e.epoch ? [e.epoch.epoch] : []));
    expect(epochs).toEqual(Array.from({ length: epochsRun }, (_, i) => i + 1));
    expect(events.filter((e) => e.job)).toHaveLength(1);
    expect(events.at(-1)!.job!.status).toBe("JOB_STATUS_SUCCEEDED");
  });

  it("predicts packed float32 rows and answers packed, with the same values", async () => {
    const predicted = await unary<PredictResponse__Output>((cb) =>
      clients.prediction.Predict(
        { model: "xor", version: 1, inputs: { width: 2, packed: float32Bytes(XOR_FLAT) } },
        cb,
      ),
    );
    expect(predicted.outputs!.values).toEqual([]);
    expect(fromFloat32Bytes(predicted.outputs!.packed)).toEqual(xorOutputs);
    expect(predicted.classes).toEqual(XOR_TRUTH);
  });
});

describe("the Open Inference Protocol", () => {
  it("describes the server and the model", async () => {
    expect(await unary((cb) => clients.inference.ServerLive({}, cb))).toEqual({ live: true });
    expect(await unary((cb) => clients.inference.ServerReady({}, cb))).toEqual({ ready: true });
    expect(await unary((cb) => clients.inference.ServerMetadata({}, cb))).toMatchObject({
      name: "nnserve",
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    const metadata = await unary<ModelMetadataResponse__Output>((cb) =>
      clients.inference.ModelMetadata({ name: "xor", version: "" }, cb),
    );
    expect(metadata).toEqual({
      name: "xor",
      versions: ["1"],
      platform: "nnserve_dense",
      inputs: [{ name: "input", datatype: "FP32", shape: ["-1", "2"] }],
      outputs: [
        { name: "output", datatype: "FP32", shape: ["-1", "1"] },
        { name: "classes", datatype: "INT64", shape: ["-1"] },
      ],
    });
    const ready = (name: string, version: string) =>
      unary<{ ready: boolean }>((cb) => clients.inference.ModelReady({ name, version }, cb));
    expect(await ready("xor", "")).toEqual({ ready: true });
    expect(await ready("xor", "1")).toEqual({ ready: true });
    expect(await ready("xor", "2")).toEqual({ ready: false });
    expect(await ready("no-such-model", "")).toEqual({ ready: false });
  });

  it("infers FP32 contents and answers in contents", async () => {
    const response = await unary<ModelInferResponse__Output>((cb) =>
      clients.inference.ModelInfer(
        {
          modelName: "xor",
          id: "request-1",
          inputs: [
            {
              name: "input",
              datatype: "FP32",
              shape: [4, 2],
              contents: { fp32Contents: XOR_FLAT },
            },
          ],
        },
        cb,
      ),
    );
    expect(response).toMatchObject({ modelName: "xor", modelVersion: "1", id: "request-1" });
    expect(response.rawOutputContents).toEqual([]);
    const [output, classes] = response.outputs;
    expect(output).toMatchObject({ name: "output", datatype: "FP32", shape: ["4", "1"] });
    expect(output!.contents!.fp32Contents).toEqual(xorOutputs);
    expect(classes).toMatchObject({ name: "classes", datatype: "INT64", shape: ["4"] });
    expect(classes!.contents!.int64Contents).toEqual(XOR_TRUTH.map(String));
  });

  it("infers raw little-endian bytes (FP32, FP64, INT64) and answers in raw bytes", async () => {
    const int64 = Buffer.alloc(XOR_FLAT.length * 8);
    const fp64 = Buffer.alloc(XOR_FLAT.length * 8);
    XOR_FLAT.forEach((v, i) => {
      int64.writeBigInt64LE(BigInt(v), i * 8);
      fp64.writeDoubleLE(v, i * 8);
    });
    const forms = [
      ["FP32", float32Bytes(XOR_FLAT)],
      ["FP64", fp64],
      ["INT64", int64],
    ] as const;
    for (const [datatype, bytes] of forms) {
      const response = await unary<ModelInferResponse__Output>((cb) =>
        clients.inference.ModelInfer(
          {
            modelName: "xor",
            modelVersion: "1",
            inputs: [{ name: "input", datatype, shape: [4, 2] }],
            outputs: [{ name: "output" }],
            rawInputContents: [bytes],
          },
          cb,
        ),
      );
      expect(response.outputs).toHaveLength(1);
      expect(response.outputs[0]).toMatchObject({ name: "output", shape: ["4", "1"] });
      expect(response.outputs[0]!.contents).toBeNull();
      expect(fromFloat32Bytes(response.rawOutputContents[0]!), datatype).toEqual(xorOutputs);
    }
  });

  it("returns only the outputs asked for, in the order asked", async () => {
    const response = await unary<ModelInferResponse__Output>((cb) =>
      clients.inference.ModelInfer(
        {
          modelName: "xor",
          inputs: [
            {
              name: "input",
              datatype: "INT32",
              shape: [4, 2],
              contents: { intContents: XOR_FLAT },
            },
          ],
          outputs: [{ name: "classes" }],
        },
        cb,
      ),
    );
    expect(response.outputs.map((o) => o.name)).toEqual(["classes"]);
    expect(response.outputs[0]!.contents!.int64Contents).toEqual(XOR_TRUTH.map(String));
  });
});

describe("models and jobs", () => {
  it("lists and describes models and jobs", async () => {
    const list = await unary<ListModelsResponse__Output>((cb) => clients.models.ListModels({}, cb));
    expect(list.items).toEqual([
      expect.objectContaining({ name: "xor", latestVersion: 1, versionCount: 1 }),
    ]);
    const model = await unary<Model__Output>((cb) => clients.models.GetModel({ name: "xor" }, cb));
    expect(model.versions).toHaveLength(1);
    expect(model.versions[0]).toMatchObject({
      version: 1,
      jobId,
      status: "VERSION_STATUS_READY",
      loss: "binaryCrossentropy",
      seed: 1,
      parameters: 2 * 8 + 8 + 8 + 1,
      network: {
        inputs: 2,
        layers: [
          { units: 8, activation: "tanh" },
          { units: 1, activation: "sigmoid" },
        ],
      },
    });

    const job = await unary<Job__Output>((cb) => clients.training.GetJob({ id: jobId }, cb));
    expect(job).toMatchObject({ id: jobId, status: "JOB_STATUS_SUCCEEDED", attempts: 1 });
    // The runner that trained it, as host:pid:id (the same id its log lines carry).
    expect(job.worker).toMatch(new RegExp(`^[^:]+:${process.pid}:[0-9a-f]{8}$`));
    const page = await unary<ListJobsResponse__Output>((cb) =>
      clients.training.ListJobs({ status: "JOB_STATUS_SUCCEEDED", model: "xor", limit: 5 }, cb),
    );
    expect(page.items.map((j) => j.id)).toEqual([jobId]);
    expect(page.nextCursor).toBe("");
    const none = await unary<ListJobsResponse__Output>((cb) =>
      clients.training.ListJobs({ status: "JOB_STATUS_FAILED" }, cb),
    );
    expect(none.items).toEqual([]);
  });

  it("returns the first job for a repeated idempotency key, and a conflict for a new request", async () => {
    const key = randomUUID();
    const first = await unary<TrainResponse__Output>((cb) =>
      clients.training.Train(trainMessage(xorRequest("twice"), key), cb),
    );
    const again = await unary<TrainResponse__Output>((cb) =>
      clients.training.Train(trainMessage(xorRequest("twice"), key), cb),
    );
    expect(first.created).toBe(true);
    expect(again).toMatchObject({ jobId: first.jobId, created: false, version: 1 });
    const other = await failure(
      unary((cb) => clients.training.Train(trainMessage(xorRequest("other"), key), cb)),
    );
    expect(other.code).toBe(status.FAILED_PRECONDITION);
    await watch(first.jobId);
  });

  it("refuses to cancel a finished job, and deletes a model", async () => {
    const cancel = await failure(unary((cb) => clients.training.CancelJob({ id: jobId }, cb)));
    expect(cancel.code).toBe(status.FAILED_PRECONDITION);

    await unary((cb) => clients.models.DeleteModel({ name: "twice" }, cb));
    const gone = await failure(unary((cb) => clients.models.GetModel({ name: "twice" }, cb)));
    expect(gone.code).toBe(status.NOT_FOUND);
    expect(gone.details).toBe('No model "twice" exists.');
  });
});
