/**
 * The Open Inference Protocol (KServe V2) over HTTP on a whole in-process server (real Postgres,
 * trained models): every path, versioned and unversioned, flat and nested tensor data, the
 * datatypes converted, and errors as an error status with `{"error": "..."}`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictResponse } from "../../../src/prediction/request.ts";
import type { TrainAccepted } from "../../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { clustersRequest, longXorRequest } from "../../helpers/requests.ts";
import {
  type HttpResponse,
  startTestServer,
  type TestServer,
  waitForJob,
} from "../../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

const ROWS = [
  [0.1, 0.2],
  [5.1, -0.2],
  [0.3, 4.8],
];

async function train(body: unknown): Promise<string> {
  const response = await server.http.post<TrainAccepted>("/train", body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body.jobId;
}

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  // Two ready versions of "clusters" (different seeds, so different weights).
  const first = await train(clustersRequest("clusters"));
  await waitForJob(server.http, first, (job) => job.status === "succeeded");
  const second = clustersRequest("clusters");
  second.training = { ...second.training, seed: 11 };
  await waitForJob(server.http, await train(second), (job) => job.status === "succeeded");
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}
interface InferResponseBody {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Tensor[];
}

const flat = (rows: number[][]) => rows.flat();

function tensor(data: unknown, shape = [ROWS.length, 2], datatype = "FP32") {
  return { inputs: [{ name: "input", shape, datatype, data }] };
}

function expectError(response: HttpResponse<unknown>, status: number, match: RegExp): string {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(Object.keys(response.body as object)).toEqual(["error"]);
  const { error } = response.body as { error: string };
  expect(error).toMatch(match);
  return error;
}

describe("server endpoints", () => {
  it("GET /v2 answers the server metadata", async () => {
    const response = await server.http.get("/v2");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      name: "nnserve",
      version: expect.any(String),
      extensions: ["binary_tensor_data"],
    });
  });

  it("GET /v2/health/live and /v2/health/ready answer 200 while live and ready", async () => {
    expect((await server.http.get("/v2/health/live")).status).toBe(200);
    expect((await server.http.get("/v2/health/ready")).status).toBe(200);
  });

  it("answers an unknown /v2 path with 404 and an error body", async () => {
    expectError(await server.http.get("/v2/nothing/here"), 404, /No Open Inference Protocol route/);
  });
});

describe("model metadata and readiness", () => {
  const metadata = {
    name: "clusters",
    versions: ["2", "1"],
    platform: expect.any(String),
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, 2] }],
    outputs: [
      { name: "output", datatype: "FP32", shape: [-1, 3] },
      { name: "classes", datatype: "INT64", shape: [-1] },
    ],
  };

  it("describes a model with -1 for the batch dimension, unversioned and versioned", async () => {
    const unversioned = await server.http.get("/v2/models/clusters");
    expect(unversioned.status).toBe(200);
    expect(unversioned.body).toEqual(metadata);
    const versioned = await server.http.get("/v2/models/clusters/versions/1");
    expect(versioned.status).toBe(200);
    expect(versioned.body).toEqual(metadata);
  });

  it("answers 404 for an unknown model or version", async () => {
    expectError(await server.http.get("/v2/models/nope"), 404, /nope/);
    expectError(await server.http.get("/v2/models/clusters/versions/9"), 404, /clusters@9/);
  });

  it("answers ready 200 for a ready model or version, and an error status when not", async () => {
    expect((await server.http.get("/v2/models/clusters/ready")).status).toBe(200);
    expect((await server.http.get("/v2/models/clusters/versions/1/ready")).status).toBe(200);
    expectError(await server.http.get("/v2/models/clusters/versions/9/ready"), 400, /not ready/);
    expectError(await server.http.get("/v2/models/nope/ready"), 400, /not ready/);
  });

  it("reports a model whose only version is still training as not ready", async () => {
    const jobId = await train(longXorRequest("still-training", 10_000));
    const ready = await server.http.get("/v2/models/still-training/ready");
    expectError(ready, 400, /not ready/);
    const infer = await server.http.post("/v2/models/still-training/infer", {
      inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [0, 1] }],
    });
    expectError(infer, 409, /no trained version/);
    await server.http.post(`/jobs/${jobId}/cancel`);
  });
});

describe("inference", () => {
  async function predict(version?: number): Promise<PredictResponse> {
    const body = { model: "clusters", inputs: ROWS, ...(version ? { version } : {}) };
    const response = await server.http.post<PredictResponse>("/predict", body);
    expect(response.status).toBe(200);
    return response.body;
  }

  it("runs the newest ready version on flat row-major data, as /predict does", async () => {
    const expected = await predict();
    const response = await server.http.post<InferResponseBody>(
      "/v2/models/clusters/infer",
      tensor(flat(ROWS)),
    );
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toEqual({
      model_name: "clusters",
      model_version: "2",
      id: "",
      outputs: [
        { name: "output", datatype: "FP32", shape: [3, 3], data: flat(expected.outputs) },
        { name: "classes", datatype: "INT64", shape: [3], data: expected.classes },
      ],
    });
  });

  it("takes nested data and answers exactly as for flat data", async () => {
    const flatResponse = await server.http.post("/v2/models/clusters/infer", tensor(flat(ROWS)));
    const nested = await server.http.post("/v2/models/clusters/infer", tensor(ROWS));
    expect(nested.status).toBe(200);
    expect(nested.body).toEqual(flatResponse.body);
  });

  it("runs the version named in the path", async () => {
    const expected = await predict(1);
    const response = await server.http.post<InferResponseBody>(
      "/v2/models/clusters/versions/1/infer",
      { id: "req-7", ...tensor(ROWS) },
    );
    expect(response.status).toBe(200);
    expect(response.body.model_version).toBe("1");
    expect(response.body.id).toBe("req-7");
    expect(response.body.outputs[0]!.data).toEqual(flat(expected.outputs));
  });

  it("returns only the outputs asked for, in the order asked", async () => {
    const response = await server.http.post<InferResponseBody>("/v2/models/clusters/infer", {
      ...tensor(ROWS),
      outputs: [{ name: "classes" }],
    });
    expect(response.status).toBe(200);
    expect(response.body.outputs.map((o) => o.name)).toEqual(["classes"]);
  });

  it("converts FP64, INT32 and INT64 inputs to the same answer as FP32", async () => {
    const whole = [
      [0, 0],
      [5, 0],
      [0, 5],
    ];
    const fp32 = await server.http.post<InferResponseBody>(
      "/v2/models/clusters/infer",
      tensor(whole),
    );
    for (const datatype of ["FP64", "INT32", "INT64"]) {
      const response = await server.http.post<InferResponseBody>(
        "/v2/models/clusters/infer",
        tensor(whole, [3, 2], datatype),
      );
      expect(response.status, datatype).toBe(200);
      expect(response.body.outputs, datatype).toEqual(fp32.body.outputs);
    }
  });

  it("accepts and ignores parameters", async () => {
    const response = await server.http.post("/v2/models/clusters/infer", {
      parameters: { priority: 1 },
      inputs: [
        { name: "input", shape: [1, 2], datatype: "FP32", parameters: { x: "y" }, data: [1, 2] },
      ],
    });
    expect(response.status).toBe(200);
  });
});

describe("inference errors", () => {
  const infer = (body: unknown, path = "/v2/models/clusters/infer") => server.http.post(path, body);

  it("names an unsupported datatype", async () => {
    const error = expectError(await infer(tensor(["a", "b"], [1, 2], "BYTES")), 400, /datatype/);
    expect(error).toMatch(/FP32/);
  });

  it("rejects data whose element count does not match the shape", async () => {
    expectError(await infer(tensor([1, 2, 3], [2, 2])), 400, /inputs\[0\]\.data/);
  });

  it("rejects nested data that does not follow the shape", async () => {
    expectError(
      await infer(
        tensor(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          [3, 2],
        ),
      ),
      400,
      /inputs\[0\]\.data/,
    );
  });

  it("rejects a non-number element with its path", async () => {
    expectError(
      await infer(tensor([1, "2"], [1, 2])),
      400,
      /inputs\[0\]\.data\[1\] must be a number/,
    );
  });

  it("rejects rows of the wrong width against the model's shape", async () => {
    expectError(await infer(tensor([1, 2, 3], [1, 3])), 400, /inputs\[0\]\.shape.*\[-1, 2\]/);
  });

  it("rejects a shape that is not [rows, width]", async () => {
    expectError(await infer(tensor([1, 2], [2])), 400, /inputs\[0\]\.shape/);
  });

  it("rejects an unknown output name", async () => {
    expectError(
      await infer({ ...tensor([1, 2], [1, 2]), outputs: [{ name: "logits" }] }),
      400,
      /logits/,
    );
  });

  it("rejects a body without inputs, and one that is not JSON", async () => {
    expectError(await infer({ id: "x" }), 400, /inputs/);
    const response = await server.http.request("POST", "/v2/models/clusters/infer", {
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expectError(response, 400, /JSON/);
  });

  it("answers 404 for an unknown model or version", async () => {
    expectError(await infer(tensor([1, 2], [1, 2]), "/v2/models/nope/infer"), 404, /nope/);
    expectError(
      await infer(tensor([1, 2], [1, 2]), "/v2/models/clusters/versions/9/infer"),
      404,
      /clusters@9/,
    );
    expectError(
      await infer(tensor([1, 2], [1, 2]), "/v2/models/clusters/versions/Latest/infer"),
      400,
      /model_version/,
    );
  });
});
