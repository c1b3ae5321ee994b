/**
 * A flood of unknown keys (AUTH=on) on a real database: random prefixes cost no query each (the
 * prefixes are read at most every 250 ms, shared by the callers waiting), a key made by another
 * process is still found, and failed authentications from one address are refused with 429 and
 * Retry-After past AUTH_MAX_FAILURES_PER_MINUTE, over REST and gRPC.
 */
import { randomBytes } from "node:crypto";
import { Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthFailureLimiter } from "../../src/auth/failure-limiter.ts";
import { createKeyStore } from "../../src/auth/key-store.ts";
import { isAppError } from "../../src/platform/errors.ts";
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

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

const randomKey = () => `nns_${randomBytes(32).toString("base64url").slice(0, 51)}`;

describe("KeyStore.verify under a flood of unknown keys", () => {
  it("reads the key table a few times for 300 random keys, and still finds a new key", async () => {
    let reads = 0;
    const counted = new Proxy(db.prisma.apiKey, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          reads++;
          return value.apply(target, args);
        };
      },
    });
    const prisma = new Proxy(db.prisma, {
      get: (target, name, receiver) =>
        name === "apiKey" ? counted : Reflect.get(target, name, receiver),
    });
    const store = createKeyStore({ db: { ...db, prisma } });
    const results = await Promise.all(Array.from({ length: 300 }, () => store.verify(randomKey())));
    expect(results.every((r) => r === undefined)).toBe(true);
    expect(reads).toBeLessThanOrEqual(3);

    // Made by another process (the CLI, another replica): found on its first use.
    const { key } = await createKeyStore({ db }).create({ name: "late", scopes: ["predict"] });
    expect(await store.verify(key)).toMatchObject({ scopes: ["predict"] });
  });
});

describe("AuthFailureLimiter", () => {
  it("refuses an address past its failures in a minute, and lets it in the next", () => {
    let now = 0;
    const limiter = new AuthFailureLimiter(3, () => now);
    for (let i = 0; i < 3; i++) {
      limiter.check("1.2.3.4");
      limiter.failed("1.2.3.4");
    }
    let refusal: unknown;
    try {
      limiter.check("1.2.3.4");
    } catch (error) {
      refusal = error;
    }
    expect(isAppError(refusal) && refusal.code).toBe("TOO_MANY_REQUESTS");
    expect(refusal).toMatchObject({ retryAfterSeconds: 60 });
    limiter.check("5.6.7.8"); // another address is not affected
    now = 60_000;
    limiter.check("1.2.3.4");
  });
});

describe("failed authentications over the wire", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      databaseUrl: db.url,
      runJobs: false,
      env: { AUTH: "on", AUTH_MAX_FAILURES_PER_MINUTE: "5", RATE_LIMIT_PER_MINUTE: "0" },
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answers 429 with Retry-After after 5 failures from one address (REST, then gRPC)", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${server.url}/models`, {
        headers: { authorization: `Bearer ${randomKey()}` },
      });
      statuses.push(response.status);
      if (i === 5) {
        expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(((await response.json()) as { detail: string }).detail).toMatch(
          /AUTH_MAX_FAILURES_PER_MINUTE/,
        );
      }
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);

    // gRPC counts its own failures by peer address: five UNAUTHENTICATED, then exhausted.
    const clients: GrpcClients = grpcClients(server.grpcAddress);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) {
        const metadata = new Metadata();
        metadata.set("authorization", `Bearer ${randomKey()}`);
        const error = await failure(unary((cb) => clients.models.ListModels({}, metadata, cb)));
        codes.push(error.code);
        if (i === 5) expect(Number(error.metadata.get("retry-after")[0])).toBeGreaterThan(0);
      }
      expect(codes).toEqual([...Array(5).fill(status.UNAUTHENTICATED), status.RESOURCE_EXHAUSTED]);
    } finally {
      clients.close();
    }
  });
});
