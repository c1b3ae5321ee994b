/**
 * Bad input that once answered 500 (issue 24), over REST and gRPC on a real server and
 * database: each must be a 4xx problem+json naming the field (gRPC INVALID_ARGUMENT or
 * NOT_FOUND) and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../src/platform/validation/problem.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  failure,
  type GrpcClients,
  grpcClients,
  status,
  unary,
} from "../transport/grpc/helpers.ts";

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
