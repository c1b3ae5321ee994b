/**
 * API keys over gRPC on a real server (AUTH=on): `authorization: Bearer <key>` metadata, the same
 * matrix as REST with gRPC's codes (UNAUTHENTICATED, PERMISSION_DENIED), health open, Train
 * linked to its key as it is created and refused past the key's job limit (concurrent calls
 * included), UNAVAILABLE once shutdown began, and no key in the log.
 */
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyStore, type KeyStore } from "../../src/auth/key-store.ts";
import type { Scope } from "../../src/auth/keys.ts";
import { ERROR_CODE_METADATA } from "../../src/transport/grpc/status.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { quickXorRequest } from "../helpers/requests.ts";
import { startTestServer, type TestServer, waitFor } from "../helpers/server.ts";
import {
  failure,
  type GrpcClients,
  grpcClients,
  status,
  trainMessage,
  unary,
} from "../transport/grpc/helpers.ts";

let db: TestDatabase;
let server: TestServer;
let clients: GrpcClients;
let keys: KeyStore;
const made: string[] = [];

async function key(...scopes: Scope[]): Promise<string> {
  const { key } = await keys.create({ name: `grpc-${scopes.join("-")}`, scopes });
  made.push(key);
  return key;
}

function auth(value?: string): Metadata {
  const metadata = new Metadata();
  if (value !== undefined) metadata.set("authorization", value);
  return metadata;
}

beforeAll(async () => {
  db = await createTestDatabase();
  keys = createKeyStore({ db });
  server = await startTestServer({
    databaseUrl: db.url,
    env: {
      AUTH: "on",
      MAX_QUEUED_JOBS_PER_KEY: "2",
      RATE_LIMIT_PER_MINUTE: "5",
      LOG_LEVEL: "debug",
    },
  });
  clients = grpcClients(server.grpcAddress);
});
afterAll(async () => {
  clients?.close();
  await server?.close();
  await db?.close();
});

const listModels = (metadata: Metadata) =>
  unary((cb) => clients.models.ListModels({}, metadata, cb));

describe("gRPC with AUTH=on", () => {
  it("answers UNAUTHENTICATED without a key, with a malformed, unknown or revoked one", async () => {
    const revoked = await key("predict");
    await keys.revoke(revoked.slice(0, 12));
    const unknown = `${(await key("predict")).slice(0, 13)}${"B".repeat(43)}`;
    for (const metadata of [
      auth(),
      auth("nns_abc"),
      auth(`Bearer ${unknown}`),
      auth(`Bearer ${revoked}`),
    ]) {
      const error = await failure(listModels(metadata));
      expect(error.code).toBe(status.UNAUTHENTICATED);
    }
  });

  it("answers PERMISSION_DENIED for a key without the method's scope", async () => {
    const predictOnly = await key("predict");
    const error = await failure(
      unary((cb) =>
        clients.training.Train(
          trainMessage(quickXorRequest("grpc-403")),
          auth(`Bearer ${predictOnly}`),
          cb,
        ),
      ),
    );
    expect(error.code).toBe(status.PERMISSION_DENIED);
    expect(error.details).toContain(predictOnly.slice(0, 12));
    expect(error.details).not.toContain(predictOnly);
  });

  it("serves a key with the right scope, and links the job it submits to the key at once", async () => {
    const trainer = await key("train");
    const response = await unary<{ jobId: string }>((cb) =>
      clients.training.Train(
        trainMessage(quickXorRequest("grpc-ok")),
        auth(`Bearer ${trainer}`),
        cb,
      ),
    );
    const keyId = (await keys.verify(trainer))!.keyId;
    const { rows } = await db.pool.query("SELECT api_key_id FROM training_jobs WHERE id = $1", [
      response.jobId,
    ]);
    expect(rows[0].api_key_id).toBe(keyId);
    const predictor = await key("predict");
    const models = await listModels(auth(`Bearer ${predictor}`));
    expect(models).toBeDefined();
  });

  it("keeps the health service open", async () => {
    const health = await unary<{ status: string }>((cb) =>
      clients.health.Check({ service: "" }, cb),
    );
    expect(health.status).toBe("SERVING");
  });

  it("answers RESOURCE_EXHAUSTED past the key's limit of queued and running jobs", async () => {
    const trainer = await key("train");
    const submit = (model: string) =>
      unary((cb) =>
        clients.training.Train(
          trainMessage({ ...quickXorRequest(model), training: { epochs: 10_000, batchSize: 1 } }),
          auth(`Bearer ${trainer}`),
          cb,
        ),
      );
    await submit("grpc-limit-1");
    await submit("grpc-limit-2");
    const error = await failure(submit("grpc-limit-3"));
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(error.details).toMatch(/limit is 2/);
  });

  it("answers RESOURCE_EXHAUSTED past the key's calls per minute", async () => {
    const busy = await key("predict");
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) {
      codes.push(
        await listModels(auth(`Bearer ${busy}`)).then(
          () => status.OK,
          (error: { code: number }) => error.code,
        ),
      );
    }
    expect(codes).toEqual([0, 0, 0, 0, 0, status.RESOURCE_EXHAUSTED, status.RESOURCE_EXHAUSTED]);
    // Another key has its own budget.
    await listModels(auth(`Bearer ${await key("predict")}`));
  });

  it("never writes a key to the log", () => {
    const lines = JSON.stringify(server.logs);
    for (const k of made) expect(lines).not.toContain(k.slice(13));
  });
});

describe("gRPC Train under concurrent calls with one key", () => {
  it("accepts exactly the limit and answers the rest RESOURCE_EXHAUSTED with REST's message", async () => {
    // A database of its own, where nothing trains: a finished job no longer counts.
    const ownDb = await createTestDatabase();
    const own = await startTestServer({
      databaseUrl: ownDb.url,
      env: { AUTH: "on", MAX_QUEUED_JOBS_PER_KEY: "3", RATE_LIMIT_PER_MINUTE: "0" },
      runJobs: false,
    });
    const ownClients = grpcClients(own.grpcAddress);
    try {
      const { key: trainer, apiKey } = await createKeyStore({ db: ownDb }).create({
        name: "grpc-concurrent",
        scopes: ["train"],
      });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          unary<{ jobId: string }>((cb) =>
            ownClients.training.Train(
              trainMessage(quickXorRequest(`grpc-concurrent-${i % 2}`)),
              auth(`Bearer ${trainer}`),
              cb,
            ),
          ),
        ),
      );
      const accepted = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.jobId] : []));
      const refused = outcomes.flatMap((o) =>
        o.status === "rejected" ? [o.reason as ServiceError] : [],
      );
      expect(accepted).toHaveLength(3);
      expect(refused).toHaveLength(5);
      for (const error of refused) {
        expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
        expect(error.details).toBe(
          `API key ${apiKey.prefix} has 3 queued or running training jobs, the limit is 3; wait for one to finish or cancel one.`,
        );
        expect(error.metadata.get(ERROR_CODE_METADATA)).toEqual(["TOO_MANY_REQUESTS"]);
      }
      const { rows } = await ownDb.pool.query<{ id: string }>(
        "SELECT id FROM training_jobs WHERE api_key_id = $1",
        [apiKey.id],
      );
      expect(rows.map((r) => r.id).sort()).toEqual([...accepted].sort());
    } finally {
      ownClients.close();
      await own.close();
      await ownDb.close();
    }
  });
});

describe("gRPC during shutdown", () => {
  it("answers new calls UNAVAILABLE while running jobs finish, health NOT_SERVING", async () => {
    // A database of its own: the jobs queued above must not keep this server busy.
    const ownDb = await createTestDatabase();
    const ownKeys = createKeyStore({ db: ownDb });
    const own = await startTestServer({
      databaseUrl: ownDb.url,
      env: { AUTH: "on", SHUTDOWN_GRACE_MS: "60000" },
    });
    const ownClients = grpcClients(own.grpcAddress);
    try {
      const { key: admin } = await ownKeys.create({ name: "shutdown", scopes: ["admin"] });
      const job = await unary<{ jobId: string }>((cb) =>
        ownClients.training.Train(
          trainMessage({
            ...quickXorRequest("grpc-shutdown"),
            training: { epochs: 2_000, batchSize: 1 },
          }),
          auth(`Bearer ${admin}`),
          cb,
        ),
      );
      await waitFor("the job to run here", async () => {
        const { rows } = await ownDb.pool.query("SELECT status FROM training_jobs WHERE id = $1", [
          job.jobId,
        ]);
        return rows[0]?.status === "running" ? true : undefined;
      });
      const closing = own.close();
      const error = await failure(
        unary((cb) => ownClients.models.ListModels({}, auth(`Bearer ${admin}`), cb)),
      );
      expect(error.code).toBe(status.UNAVAILABLE);
      const health = await unary<{ status: string }>((cb) =>
        ownClients.health.Check({ service: "" }, cb),
      );
      expect(health.status).toBe("NOT_SERVING");
      await closing;
      const { rows } = await ownDb.pool.query("SELECT status FROM training_jobs WHERE id = $1", [
        job.jobId,
      ]);
      expect(rows[0].status).toBe("succeeded");
    } finally {
      ownClients.close();
      await own.close();
      await ownDb.close();
    }
  });
});
