/**
 * Postgres out of reach while the server runs: requests that need it answer 503 problem+json
 * with Retry-After (gRPC UNAVAILABLE with retry-after metadata), as /readyz does, not 500. The
 * outage is real: the server reaches its database through a TCP relay that the test closes.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { quickXorRequest } from "../helpers/requests.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  failure,
  type GrpcClients,
  grpcClients,
  status,
  trainMessage,
  unary,
} from "../transport/grpc/helpers.ts";

let db: TestDatabase;
let relay: Server;
const sockets = new Set<Socket>();
let server: TestServer;
let clients: GrpcClients;

beforeAll(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  relay = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const port = (relay.address() as { port: number }).port;
  const viaRelay = new URL(db.url);
  viaRelay.hostname = "127.0.0.1";
  viaRelay.port = String(port);
  server = await startTestServer({
    databaseUrl: viaRelay.toString(),
    runJobs: false,
    env: { LOG_LEVEL: "info" },
  });
  clients = grpcClients(server.grpcAddress);
  // The outage: no new connection gets through, and the open ones end.
  await new Promise<void>((resolve) => {
    relay.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
});

afterAll(async () => {
  clients?.close();
  await server?.close();
  await db?.close();
});

describe("with Postgres out of reach", () => {
  it("answers 503 with Retry-After on /train, pinned /predict and an upload", async () => {
    const requests: [string, RequestInit][] = [
      ["/train", { method: "POST", body: JSON.stringify(quickXorRequest("outage")) }],
      [
        "/predict",
        { method: "POST", body: JSON.stringify({ model: "m", version: 3, inputs: [[0, 1]] }) },
      ],
      [
        "/datasets?name=outage",
        { method: "POST", body: "a,b\n1,2\n", headers: { "content-type": "text/csv" } },
      ],
    ];
    for (const [path, init] of requests) {
      const response = await fetch(`${server.url}${path}`, {
        ...init,
        headers: { "content-type": "application/json", ...(init.headers ?? {}) },
      });
      const body = await response.json();
      expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(503);
      expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(body).toMatchObject({
        code: "UNAVAILABLE",
        detail: expect.stringMatching(/database/),
      });
    }
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  }, 60_000);

  it("says so in the log once, not once per request, and never at error", async () => {
    const before = server.logs.length;
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${server.url}/models/m/versions/3/export`);
      expect(response.status).toBe(503);
    }
    const lines = server.logs.slice(before);
    const warnings = lines.filter((line) => /database is unavailable/.test(String(line.msg)));
    expect(warnings.length).toBeLessThanOrEqual(1);
    expect(lines.filter((line) => line.level === "error" || line.level === 50)).toEqual([]);
  }, 60_000);

  it("answers UNAVAILABLE with retry-after over gRPC", async () => {
    const error = await failure(
      unary((cb) => clients.training.Train(trainMessage(quickXorRequest("outage-grpc")), cb)),
    );
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(Number(error.metadata.get("retry-after")[0])).toBeGreaterThan(0);
  }, 60_000);
});
