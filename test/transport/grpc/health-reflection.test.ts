/**
 * The standard gRPC services next to ours: grpc.health.v1.Health follows readiness (NOT_SERVING
 * while the database refuses connections, and from the start of shutdown), and server reflection
 * describes every service, as grpcurl and Postman ask for it.
 */
import pg from "pg";
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthCheckResponse__Output } from "../../../src/generated/grpc/grpc/health/v1/HealthCheckResponse.ts";
import { OPTIONAL_SERVICE_NAMES, SERVICE_NAMES } from "../../../src/transport/grpc/server.ts";

// The test server is a whole nnserve: the optional services are served too.
const SERVED = [...SERVICE_NAMES, ...OPTIONAL_SERVICE_NAMES];

import { createTestDatabase, type TestDatabase, withDatabase } from "../../helpers/database.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import {
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

/** A decoded descriptor message as plain JSON: its shape is the descriptor.proto's. */
// biome-ignore lint/suspicious/noExplicitAny: descriptors are read field by field, as JSON
type Desc = Record<string, any>;

describe("reflection", () => {
  it("lists every service", async () => {
    const client = reflectionClient(server.grpcAddress);
    try {
      const answer = await reflect(client, { list_services: "" });
      const names = answer.list_services_response.service.map((s: { name: string }) => s.name);
      expect(names).toEqual(expect.arrayContaining([...SERVED, "grpc.health.v1.Health"]));
    } finally {
      client.close();
    }
  });

  it("serves descriptors a strict client can load: every file by name, every method resolved", async () => {
    const client = reflectionClient(server.grpcAddress);
    try {
      const files = new Map<string, Desc>();
      const take = (answer: Desc) => {
        for (const bytes of answer.file_descriptor_response.file_descriptor_proto) {
          const file = descriptor.FileDescriptorProto.toObject(
            descriptor.FileDescriptorProto.decode(bytes),
            { defaults: false },
          );
          files.set(file.name, file);
        }
      };
      for (const symbol of [...SERVED, "grpc.health.v1.Health"]) {
        take(await reflect(client, { file_containing_symbol: symbol }));
      }
      // Asked for by the file name its importers use, as grpcurl and Python's pool do.
      const byName = await reflect(client, { file_by_filename: "nnserve/v1/training.proto" });
      take(byName);
      expect(byName.file_descriptor_response.file_descriptor_proto.length).toBeGreaterThan(0);

      // A strict pool: every type name is fully qualified and defined in the file itself or one
      // of the files it declares as dependencies, all of which were served.
      const defined = new Map<string, string>();
      const walk = (file: string, prefix: string, messages: Desc[] = [], enums: Desc[] = []) => {
        for (const e of enums) defined.set(`${prefix}.${e.name}`, file);
        for (const m of messages) {
          defined.set(`${prefix}.${m.name}`, file);
          walk(file, `${prefix}.${m.name}`, m.nestedType, m.enumType);
        }
      };
      for (const [name, file] of files)
        walk(name, `.${file.package}`, file.messageType, file.enumType);
      const check = (file: Desc, typeName: string) => {
        expect(typeName.startsWith("."), typeName).toBe(true);
        const home = defined.get(typeName);
        expect(home, `${file.name}: ${typeName}`).toBeDefined();
        if (home !== file.name)
          expect(file.dependency ?? [], `${file.name} imports ${home}`).toContain(home);
      };
      const checkMessage = (file: Desc, m: Desc) => {
        for (const f of m.field ?? []) {
          expect(f.name, "field names as in the .proto").toMatch(/^[a-z][a-z0-9_]*$/);
          if (f.typeName) check(file, f.typeName);
        }
        for (const n of m.nestedType ?? []) {
          if (n.options?.mapEntry) {
            expect(n.name).toMatch(/Entry$/);
            expect((n.field ?? []).map((f: Desc) => [f.name, f.number])).toEqual([
              ["key", 1],
              ["value", 2],
            ]);
          }
          checkMessage(file, n);
        }
      };
      for (const file of files.values()) {
        for (const dep of file.dependency ?? []) expect(files.has(dep), dep).toBe(true);
        for (const m of file.messageType ?? []) checkMessage(file, m);
        for (const s of file.service ?? [])
          for (const m of s.method ?? []) {
            check(file, m.inputType);
            check(file, m.outputType);
          }
      }
      const job = files.get("nnserve/v1/training.proto")!;
      const jobMessage = job.messageType.find((m: Desc) => m.name === "Job");
      expect(jobMessage.field.map((f: Desc) => f.name)).toContain("created_at");
      expect(job.dependency).toContain("google/protobuf/timestamp.proto");

      // And protobufjs builds a working root from the set, resolving every method's types.
      // protobufjs/ext/descriptor adds fromDescriptor to Root at run time.
      const fromDescriptor = (
        protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }
      ).fromDescriptor;
      const root = fromDescriptor({ file: [...files.values()] });
      for (const name of SERVED) {
        const service = root.lookupService(name);
        for (const method of service.methodsArray) {
          method.resolve();
          expect(method.resolvedRequestType, `${name}.${method.name}`).toBeTruthy();
          expect(method.resolvedResponseType, `${name}.${method.name}`).toBeTruthy();
        }
      }
    } finally {
      client.close();
    }
  });
});

describe("health", () => {
  it("serves the server and each service while ready, and knows no other service", async () => {
    expect(await check("")).toEqual({ status: "SERVING" });
    for (const name of SERVED) expect(await check(name)).toEqual({ status: "SERVING" });
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
