/**
 * Bad input that once answered 500 (issue 24), over REST and gRPC on a real server and
 * database: each must be a 4xx problem+json naming the field (gRPC INVALID_ARGUMENT or
 * NOT_FOUND) and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../src/platform/validation/problem.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { quickXorRequest } from "../helpers/requests.ts";
import { startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";
import {
  failure,
  fieldIssues,
  type GrpcClients,
  grpcClients,
  status,
  trainMessage,
  unary,
} from "../transport/grpc/helpers.ts";

let db: TestDatabase;
let server: TestServer;
let clients: GrpcClients;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  clients = grpcClients(server.grpcAddress);
  const trained = await server.http.post<TrainAccepted>("/train", quickXorRequest("xor"));
  expect(trained.status, JSON.stringify(trained.body)).toBe(202);
  await waitForJob(server.http, trained.body.jobId, (job) => job.status === "succeeded");
}, 120_000);
afterAll(async () => {
  clients?.close();
  await server?.close();
  await db?.close();
});

const TOO_BIG_VERSION = 2 ** 31;

async function problemOf(response: Response): Promise<Problem> {
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  return (await response.json()) as Problem;
}

describe("a version number past int4 (2^31)", () => {
  it("is a 400 naming the version over REST", async () => {
    const predict = await fetch(`${server.url}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", version: TOO_BIG_VERSION, inputs: [[0, 1]] }),
    });
    expect(predict.status).toBe(400);
    expect((await problemOf(predict)).errors?.[0]?.path).toBe("version");
    for (const what of ["onnx", "export"]) {
      const response = await fetch(`${server.url}/models/m/versions/${TOO_BIG_VERSION}/${what}`);
      expect(response.status, what).toBe(400);
      expect((await problemOf(response)).errors?.[0]?.path).toBe("version");
    }
  });

  it("is INVALID_ARGUMENT over gRPC", async () => {
    const predict = await failure(
      unary((cb) =>
        clients.prediction.Predict(
          { model: "m", version: TOO_BIG_VERSION, inputs: { width: 2, values: [0, 1] } },
          cb,
        ),
      ),
    );
    expect(predict.code).toBe(status.INVALID_ARGUMENT);
    for (const call of ["ExportModel", "ExportOnnx"] as const) {
      const error = await failure(
        unary((cb) => clients.models[call]({ name: "m", version: TOO_BIG_VERSION }, cb)),
      );
      expect(error.code, call).toBe(status.INVALID_ARGUMENT);
    }
  });
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
  });

describe("finite numbers beyond float32", () => {
  it("are a 400 naming the cell on /predict (both body readers) and on /train", async () => {
    // Written as a client writes it: the fast reader sees 4e38 and must leave it to the schema.
    const fast = await post("/predict", '{"model":"xor","inputs":[[0,1],[4e38,0]]}');
    expect(fast.status).toBe(400);
    const problem = await problemOf(fast);
    expect(problem.errors).toEqual([
      { path: "inputs[1][0]", message: expect.stringContaining("float32 range") },
    ]);
    const slow = await post("/predict", { model: "xor", version: 1, inputs: [[1e300, 0]] });
    expect(slow.status).toBe(400);
    expect((await problemOf(slow)).errors?.[0]?.path).toBe("inputs[0][0]");
    const train = quickXorRequest("xor-float32");
    train.data!.inputs = [
      [0, 0],
      [0, 1],
      [1, 0],
      [1e39, 1],
    ];
    const refused = await post("/train", train);
    expect(refused.status).toBe(400);
    expect((await problemOf(refused)).errors?.[0]?.path).toBe("data.inputs[3][0]");
    expect((await fetch(`${server.url}/models/xor-float32`)).status).toBe(404);
  });

  it("are a 400 naming the element on /v2 JSON and binary (FP64)", async () => {
    const json = await post("/v2/models/xor/infer", {
      inputs: [{ name: "input", datatype: "FP32", shape: [2, 2], data: [0, 1, 1, 4e38] }],
    });
    // The protocol's error body: {"error": "..."}, naming the element.
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: string }).error).toMatch(
      /inputs\[0\]\.data\[3\].*float32 range/,
    );

    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: "input", datatype: "FP64", shape: [1, 2], parameters: { binary_data_size: 16 } },
        ],
      }),
    );
    const data = Buffer.alloc(16);
    data.writeDoubleLE(1e300, 0);
    data.writeDoubleLE(0, 8);
    const binary = await post("/v2/models/xor/infer", Buffer.concat([header, data]), {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(header.length),
    });
    expect(binary.status).toBe(400);
    expect(((await binary.json()) as { error: string }).error).toMatch(/float32 range/);
  });

  it("are INVALID_ARGUMENT on gRPC Predict and ModelInfer", async () => {
    const predict = await failure(
      unary((cb) =>
        clients.prediction.Predict(
          { model: "xor", inputs: { width: 2, values: [0, 1, 4e38, 0] } },
          cb,
        ),
      ),
    );
    // Rows.values are proto floats: 4e38 reaches the server as Infinity, refused as such.
    expect(predict.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(predict.metadata)[0]?.path).toBe("inputs[1][0]");
    const infer = await failure(
      unary((cb) =>
        clients.inference.ModelInfer(
          {
            modelName: "xor",
            inputs: [
              {
                name: "input",
                datatype: "FP64",
                shape: [1, 2],
                contents: { fp64Contents: [1e300, 0] },
              },
            ],
          },
          cb,
        ),
      ),
    );
    expect(infer.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(infer.metadata)[0]?.message).toMatch(/float32 range/);
  });
});

describe("values the schema once passed and the engine refused", () => {
  it("are a 400 at submit naming the field, creating no version (REST and gRPC)", async () => {
    const alpha = quickXorRequest("engine-alpha");
    alpha.network.layers[0] = { units: 8, activation: "elu", alpha: 1e308 };
    const batch = quickXorRequest("engine-batch");
    batch.training.batchSize = 1e12;
    const expected: [typeof alpha, string][] = [
      [alpha, "network.layers[0].alpha"],
      [batch, "training.batchSize"],
    ];
    for (const [body, path] of expected) {
      const response = await post("/train", body);
      expect(response.status, path).toBe(400);
      expect((await problemOf(response)).errors?.[0]?.path).toBe(path);
      expect((await fetch(`${server.url}/models/${body.model}`)).status).toBe(404);
    }
    const error = await failure(unary((cb) => clients.training.Train(trainMessage(alpha), cb)));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(error.metadata)[0]?.path).toBe("network.layers[0].alpha");
  });
});
