/** gRPC under overload: the HTTP side's measure also sheds gRPC calls, health stays open. */
import type { ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startTestServer, type TestServer, waitFor } from "../helpers/server.ts";
import { type GrpcClients, grpcClients, status, unary } from "../transport/grpc/helpers.ts";

let db: TestDatabase;
let server: TestServer;
let clients: GrpcClients;
beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    env: {
      OVERLOAD_MAX_HEAP_USED_BYTES: String(1024 * 1024),
      OVERLOAD_SAMPLE_MS: "10",
      OVERLOAD_RETRY_AFTER_S: "3",
    },
  });
  clients = grpcClients(server.grpcAddress);
});
afterAll(async () => {
  clients?.close();
  await server?.close();
  await db?.close();
});

describe("gRPC under overload", () => {
  it("answers UNAVAILABLE with retry-after, and health still answers", async () => {
    const error = await waitFor("a shed call", async () => {
      try {
        await unary((cb) => clients.models.ListModels({}, cb));
        return undefined;
      } catch (failure) {
        return failure as ServiceError;
      }
    });
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(error.details).toMatch(/overloaded; retry after 3 s/);
    expect(error.metadata.get("retry-after")).toEqual(["3"]);
    const health = await unary<{ status: string }>((cb) =>
      clients.health.Check({ service: "" }, cb),
    );
    expect(health.status).toBe("SERVING");
  });
});
