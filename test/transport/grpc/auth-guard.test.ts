/**
 * The gRPC guard's refusals go through the shared AppError -> gRPC mapping (src/transport/grpc/status.ts):
 * for the same refusal a gRPC client gets the code errors.ts assigns and the message REST sends
 * as `detail`, with the same trailing metadata as a handler's error (nnserve-error-code,
 * grpc-status-details-bin), and `retry-after` when overloaded. No database: a real grpc-js server
 * whose handlers are stubs, and a key store in memory.
 */
import { Writable } from "node:stream";
import {
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Caller, KeyStore } from "../../../src/auth/key-store.ts";
import type { Scope } from "../../../src/auth/keys.ts";
import { loadConfig } from "../../../src/platform/config.ts";
import { createLogger } from "../../../src/platform/logger.ts";
import { createGrpcGuard } from "../../../src/transport/grpc/auth-guard.ts";
import { loadProtos } from "../../../src/transport/grpc/protos.ts";
import {
  ERROR_CODE_METADATA,
  rpcMessages,
  STATUS_DETAILS_METADATA,
} from "../../../src/transport/grpc/status.ts";
import { buildApp } from "../../../src/transport/http/app.ts";
import { createFakeServices } from "../http/fake-services.ts";
import { xorRequest } from "../http/helpers.ts";

const KEYS: Record<string, Caller> = {
  "predict-key": { keyId: "k-predict", prefix: "nns_predict", scopes: ["predict"] },
  "train-key": { keyId: "k-train", prefix: "nns_train", scopes: ["train"] },
};

let keyStoreDown = false;
// Only verify() is used: job limits are off here (maxQueuedJobsPerKey: 0, and REST refuses
// before its job limit is checked).
const keys = {
  verify: async (key: string) => {
    if (keyStoreDown) throw new Error("connection refused");
    return KEYS[key];
  },
} as Partial<KeyStore> as KeyStore;

const lines: Record<string, unknown>[] = [];
const logger = createLogger({
  level: "debug",
  destination: new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  }),
});

let overloaded = false;
let server: Server;
let clients: ReturnType<typeof makeClients>;

function makeClients(address: string) {
  const { grpc } = loadProtos();
  const insecure = credentials.createInsecure();
  return {
    models: new grpc.nnserve.v1.Models(address, insecure),
    training: new grpc.nnserve.v1.Training(address, insecure),
    health: new grpc.grpc.health.v1.Health(address, insecure),
  };
}

const answer =
  <T>(value: T) =>
  (_call: ServerUnaryCall<unknown, T>, callback: sendUnaryData<T>) =>
    callback(null, value);

beforeAll(async () => {
  const { grpc } = loadProtos();
  const guardOptions = {
    auth: true,
    keys,
    maxQueuedJobsPerKey: 0,
    rateLimitPerMinute: 3,
    overloaded: () => overloaded,
    retryAfterSeconds: 7,
    logger,
  };
  server = new Server({ interceptors: [createGrpcGuard(guardOptions)] });
  server.addService(grpc.nnserve.v1.Models.service, { ListModels: answer({ models: [] }) });
  server.addService(grpc.nnserve.v1.Training.service, { Train: answer({ jobId: "never" }) });
  server.addService(grpc.grpc.health.v1.Health.service, {
    Check: answer({ status: "SERVING" }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  clients = makeClients(`127.0.0.1:${port}`);
});

afterAll(async () => {
  for (const client of Object.values(clients ?? {})) client.close();
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
});

afterEach(() => {
  overloaded = false;
  keyStoreDown = false;
});

function auth(key?: string): Metadata {
  const metadata = new Metadata();
  if (key !== undefined) metadata.set("authorization", `Bearer ${key}`);
  return metadata;
}

type Call = (metadata: Metadata, callback: (error: ServiceError | null) => void) => unknown;
const listModels: Call = (metadata, cb) => clients.models.ListModels({}, metadata, cb);
const train: Call = (metadata, cb) => clients.training.Train({}, metadata, cb);

function failure(call: Call, metadata: Metadata): Promise<ServiceError> {
  return new Promise((resolve, reject) =>
    call(metadata, (error) =>
      error ? resolve(error) : reject(new Error("expected the call to be refused")),
    ),
  );
}

/** The code, message and metadata a handler's AppError would carry too. */
function expectMapped(error: ServiceError, grpcCode: status, appCode: string) {
  expect(error.code).toBe(grpcCode);
  expect(error.metadata.get(ERROR_CODE_METADATA)).toEqual([appCode]);
  const [bytes] = error.metadata.get(STATUS_DETAILS_METADATA);
  const details = rpcMessages.Status.deserialize(bytes as Buffer);
  expect(details).toMatchObject({ code: grpcCode, message: error.details });
  expect(rpcMessages.ErrorInfo.deserialize(details.details[0]!.value)).toMatchObject({
    reason: appCode,
    domain: "nnserve.dev",
  });
}

/** What REST answers for the same refusal, from an app on the same key store. */
async function restProblem(request: {
  method: "GET" | "POST";
  url: string;
  key?: string;
  payload?: unknown;
}) {
  const config = loadConfig({
    NODE_ENV: "test",
    AUTH: "on",
    RATE_LIMIT_PER_MINUTE: "0",
  });
  const app = buildApp({ config, logger, services: createFakeServices(), keys });
  try {
    const response = await app.inject({
      method: request.method,
      url: request.url,
      headers: request.key ? { authorization: `Bearer ${request.key}` } : {},
      ...(request.payload === undefined ? {} : { payload: request.payload as object }),
    });
    return response.json() as { code: string; detail: string };
  } finally {
    await app.close();
  }
}

describe("the gRPC guard's refusals", () => {
  it("UNAUTHENTICATED without a key or with an unknown one, with REST's code and message", async () => {
    for (const key of [undefined, "unknown-key"]) {
      const error = await failure(listModels, auth(key));
      expectMapped(error, status.UNAUTHENTICATED, "UNAUTHENTICATED");
      const rest = await restProblem({ method: "GET", url: "/models", key });
      expect(rest.code).toBe("UNAUTHENTICATED");
      expect(error.details).toBe(rest.detail);
    }
  });

  it("PERMISSION_DENIED for a key without the scope, with REST's code and message", async () => {
    const error = await failure(train, auth("predict-key"));
    expectMapped(error, status.PERMISSION_DENIED, "FORBIDDEN");
    const rest = await restProblem({
      method: "POST",
      url: "/train",
      key: "predict-key",
      payload: xorRequest(),
    });
    expect(rest.code).toBe("FORBIDDEN");
    expect(error.details).toBe(rest.detail);
  });

  it("RESOURCE_EXHAUSTED past the calls per minute", async () => {
    const scopes: Scope[] = ["predict"];
    KEYS["busy-key"] = { keyId: "k-busy", prefix: "nns_busy", scopes };
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) =>
        listModels(auth("busy-key"), (error) => (error ? reject(error) : resolve())),
      );
    }
    const error = await failure(listModels, auth("busy-key"));
    expectMapped(error, status.RESOURCE_EXHAUSTED, "TOO_MANY_REQUESTS");
    expect(error.details).toMatch(/^Rate limit: API key nns_busy may make 3 calls per minute/);
  });

  it("UNAVAILABLE with retry-after when overloaded; health stays open", async () => {
    overloaded = true;
    const error = await failure(listModels, auth("predict-key"));
    expectMapped(error, status.UNAVAILABLE, "UNAVAILABLE");
    expect(error.details).toBe("The server is overloaded; retry after 7 s.");
    expect(error.metadata.get("retry-after")).toEqual(["7"]);
    const health = await new Promise<{ status: string }>((resolve, reject) =>
      clients.health.Check({ service: "" }, (e: ServiceError | null, value?: { status: string }) =>
        e ? reject(e) : resolve(value!),
      ),
    );
    expect(health.status).toBe("SERVING");
  });

  it("UNAVAILABLE when the key store fails, logged as an error without its message sent", async () => {
    keyStoreDown = true;
    const error = await failure(listModels, auth("predict-key"));
    expectMapped(error, status.UNAVAILABLE, "UNAVAILABLE");
    expect(error.details).toBe("The API key could not be checked; retry shortly.");
    expect(lines.some((l) => l.msg === "checking the API key failed" && l.level === 50)).toBe(true);
  });
});
