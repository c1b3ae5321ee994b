/**
 * The standard gRPC services next to ours: grpc.health.v1.Health follows readiness (NOT_SERVING
 * while the database refuses connections, and from the start of shutdown), and server reflection
 * describes every service, as grpcurl and Postman ask for it.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthCheckResponse__Output } from "../../../src/generated/grpc/grpc/health/v1/HealthCheckResponse.ts";
import { SERVICE_NAMES } from "../../../src/transport/grpc/server.ts";
import { createTestDatabase, type TestDatabase, withDatabase } from "../../helpers/database.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import {
  descriptorFileName,
  failure,
  type GrpcClients,
  grpcClients,
  reflect,
  reflectionClient,
  status,
  unary,
} from "./helpers.ts";

let db: TestDatabase;
let server: TestServer;
let clients: GrpcClients;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    runJobs: false,
    env: { GRPC_HEALTH_POLL_MS: "50" },
  });
  clients = grpcClients(server.grpcAddress);
});

afterAll(async () => {
  clients?.close();
  await server?.close();
  await db?.close();
});

const check = (service: string) =>
  unary<HealthCheckResponse__Output>((cb) => clients.health.Check({ service }, cb));

/** Runs SQL as the server's superuser, on its maintenance database. */
async function asAdmin(sql: string) {
  const admin = new pg.Client({ connectionString: withDatabase(db.url, "postgres") });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** Collects the statuses a Health.Watch stream sends; `next(s)` resolves when s arrives. */
function watchHealth(service = "") {
  const call = clients.health.Watch({ service });
  const seen: string[] = [];
  const waiters: { status: string; resolve: () => void }[] = [];
  call.on("data", (message: HealthCheckResponse__Output) => {
    seen.push(message.status);
    for (const waiter of waiters.filter((w) => w.status === message.status)) waiter.resolve();
  });
  const ended = new Promise<void>((resolve) => {
    call.on("error", () => resolve());
    call.on("end", () => resolve());
  });
  return {
    seen,
    ended,
    next: (wanted: string) =>
      new Promise<void>((resolve) => {
        if (seen.at(-1) === wanted) resolve();
        else waiters.push({ status: wanted, resolve });
      }),
    cancel: () => call.cancel(),
  };
}

describe("reflection", () => {
  it("lists every service", async () => {
    const client = reflectionClient(server.grpcAddress);
    try {
      const answer = await reflect(client, { list_services: "" });
      const names = answer.list_services_response.service.map((s: { name: string }) => s.name);
      expect(names).toEqual(expect.arrayContaining([...SERVICE_NAMES, "grpc.health.v1.Health"]));
    } finally {
      client.close();
    }
  });

  it("describes a service with the files it depends on", async () => {
    const client = reflectionClient(server.grpcAddress);
    try {
      const answer = await reflect(client, { file_containing_symbol: "nnserve.v1.Training" });
      const files = answer.file_descriptor_response.file_descriptor_proto.map(descriptorFileName);
      // proto-loader describes one file per package, named after it, with its dependencies.
      expect(files).toEqual(["nnserve_v1.proto", "google_protobuf.proto"]);
      const descriptor = answer.file_descriptor_response.file_descriptor_proto[0] as Buffer;
      for (const name of ["Training", "WatchJob", "JobEvent", "Prediction", "Models"]) {
        expect(descriptor.includes(name), name).toBe(true);
      }
      const oip = await reflect(client, {
        file_containing_symbol: "inference.GRPCInferenceService",
      });
      expect(oip.file_descriptor_response.file_descriptor_proto.map(descriptorFileName)).toEqual([
        "inference.proto",
      ]);
    } finally {
      client.close();
    }
  });
});

describe("health", () => {
  it("serves the server and each service while ready, and knows no other service", async () => {
    expect(await check("")).toEqual({ status: "SERVING" });
    for (const name of SERVICE_NAMES) expect(await check(name)).toEqual({ status: "SERVING" });
    const unknown = await failure(check("nnserve.v1.Nothing"));
    expect(unknown.code).toBe(status.NOT_FOUND);
  });

  it("is NOT_SERVING while the database refuses connections, and SERVING again after", async () => {
    const watch = watchHealth("nnserve.v1.Prediction");
    await watch.next("SERVING");
    try {
      await asAdmin(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS false`);
      await asAdmin(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}'`,
      );
      await watch.next("NOT_SERVING");
      expect(await check("")).toEqual({ status: "NOT_SERVING" });
      expect(await unary((cb) => clients.inference.ServerReady({}, cb))).toEqual({ ready: false });
    } finally {
      await asAdmin(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS true`);
    }
    await watch.next("SERVING");
    expect(watch.seen).toEqual(["SERVING", "NOT_SERVING", "SERVING"]);
    watch.cancel();
    await watch.ended;
  });

  it("turns NOT_SERVING as soon as shutdown begins, then the server stops", async () => {
    const watch = watchHealth();
    await watch.next("SERVING");
    const closed = server.close();
    await watch.next("NOT_SERVING");
    await closed;
    await watch.ended;
    expect(watch.seen).toEqual(["SERVING", "NOT_SERVING"]);
    const after = await failure(check(""));
    expect(after.code).toBe(status.UNAVAILABLE);
  });
});
