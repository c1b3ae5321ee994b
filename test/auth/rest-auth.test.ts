/**
 * API keys over REST on a real server and database (AUTH=on): the matrix (no key, malformed,
 * unknown, revoked, wrong scope, right scope), the open probes, the admin API, per-key rate and
 * job limits (concurrent submissions included), and no key in any log line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyStore, type KeyStore } from "../../src/auth/key-store.ts";
import type { Scope } from "../../src/auth/keys.ts";
import type { Problem } from "../../src/platform/validation/problem.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { quickXorRequest } from "../helpers/requests.ts";
import { startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;
let keys: KeyStore;
const made: string[] = [];

async function key(...scopes: Scope[]): Promise<string> {
  const { key } = await keys.create({ name: `test-${scopes.join("-")}`, scopes });
  made.push(key);
  return key;
}

const bearer = (k: string) => ({ authorization: `Bearer ${k}` });

beforeAll(async () => {
  db = await createTestDatabase();
  keys = createKeyStore({ db });
  server = await startTestServer({
    databaseUrl: db.url,
    env: { AUTH: "on", MAX_QUEUED_JOBS_PER_KEY: "0", RATE_LIMIT_PER_MINUTE: "0" },
  });
});
afterAll(async () => {
  await server?.close();
  await db?.close();
});

function expectProblem(response: { status: number; body: unknown }, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ status, code });
  return response.body as Problem;
}

describe("REST with AUTH=on", () => {
  it("answers 401 problem+json with WWW-Authenticate without a key", async () => {
    const response = await server.http.post("/predict", { model: "m", inputs: [[0, 1]] });
    expectProblem(response, 401, "UNAUTHENTICATED");
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="nnserve"');
  });

  it("answers 401 for a malformed, an unknown and a revoked key", async () => {
    const revoked = await key("predict");
    await keys.revoke(`nns_${revoked.slice(4, 12)}`);
    const unknown = `${(await key("predict")).slice(0, 13)}${"A".repeat(43)}`;
    for (const authorization of [
      "Bearer not-a-key",
      "Basic dXNlcjpwYXNz",
      `Bearer ${unknown}`,
      `Bearer ${revoked}`,
    ]) {
      const response = await server.http.request("GET", "/models", { headers: { authorization } });
      expectProblem(response, 401, "UNAUTHENTICATED");
    }
  });

  it("answers 403 for a key without the route's scope, naming the key by its prefix only", async () => {
    const predictOnly = await key("predict");
    const response = await server.http.post(
      "/train",
      quickXorRequest("auth-403"),
      bearer(predictOnly),
    );
    const problem = expectProblem(response, 403, "FORBIDDEN");
    expect(problem.detail).toContain(predictOnly.slice(0, 12));
    expect(problem.detail).not.toContain(predictOnly);
    const admin = await server.http.request("DELETE", "/models/anything", {
      headers: bearer(predictOnly),
    });
    expectProblem(admin, 403, "FORBIDDEN");
  });

  it("serves a key with the right scope: train, then predict", async () => {
    const trainer = await key("train");
    const predictor = await key("predict");
    const submitted = await server.http.post<{ jobId: string }>(
      "/train",
      quickXorRequest("auth-ok"),
      bearer(trainer),
    );
    expect(submitted.status).toBe(202);
    const poll = {
      ...server.http,
      get: <T>(path: string) => server.http.request<T>("GET", path, { headers: bearer(trainer) }),
    };
    expect((await waitForJob(poll, submitted.body.jobId)).status).toBe("succeeded");
    const predicted = await server.http.post(
      "/predict",
      { model: "auth-ok", inputs: [[0, 1]] },
      bearer(predictor),
    );
    expect(predicted.status).toBe(200);
    // The job counts against the key that submitted it.
    const { rows } = await db.pool.query("SELECT api_key_id FROM training_jobs WHERE id = $1", [
      submitted.body.jobId,
    ]);
    expect(rows[0].api_key_id).toBe((await keys.verify(trainer))!.keyId);
  });

  it("keeps the probes open, and /metrics for a key with the metrics scope", async () => {
    for (const path of ["/healthz", "/readyz", "/v2/health/live"]) {
      expect((await server.http.get(path)).status).toBe(200);
    }
    // Model names and per-model counts are not for anyone who asks.
    expect((await server.http.get("/metrics")).status).toBe(401);
    const predictor = await key("predict");
    const refused = await server.http.request("GET", "/metrics", { headers: bearer(predictor) });
    expect(refused.status).toBe(403);
    const prometheus = await key("metrics");
    const scraped = await fetch(`${server.url}/metrics`, { headers: bearer(prometheus) });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/^# HELP /m);
  });

  it("lets an admin key create, list and revoke keys, and shows a key only once", async () => {
    const admin = await key("admin");
    const created = await server.http.request<{ id: string; prefix: string; key: string }>(
      "POST",
      "/admin/keys",
      { json: { name: "ci", scopes: ["predict"] }, headers: bearer(admin) },
    );
    expect(created.status).toBe(201);
    expect(created.body.key.startsWith(`${created.body.prefix}_`)).toBe(true);
    expect((await server.http.get("/models")).status).toBe(401);
    const using = await server.http.request("GET", "/models", {
      headers: bearer(created.body.key),
    });
    expect(using.status).toBe(200);

    const listed = await server.http.request<{ items: Record<string, unknown>[] }>(
      "GET",
      "/admin/keys",
      { headers: bearer(admin) },
    );
    expect(listed.status).toBe(200);
    const entry = listed.body.items.find((k) => k.id === created.body.id);
    expect(entry).toMatchObject({ name: "ci", prefix: created.body.prefix, scopes: ["predict"] });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
    expect(entry).not.toHaveProperty("hash");

    const revoked = await server.http.request("DELETE", `/admin/keys/${created.body.prefix}`, {
      headers: bearer(admin),
    });
    expect(revoked.status).toBe(200);
    // Seen at once by the replica that revoked it.
    const after = await server.http.request("GET", "/models", {
      headers: bearer(created.body.key),
    });
    expectProblem(after, 401, "UNAUTHENTICATED");
    const again = await server.http.request("DELETE", `/admin/keys/${created.body.id}`, {
      headers: bearer(admin),
    });
    expectProblem(again, 409, "CONFLICT");
  });

  it("refuses the admin API to a key without the admin scope", async () => {
    const trainer = await key("train", "predict");
    const response = await server.http.request("GET", "/admin/keys", { headers: bearer(trainer) });
    expectProblem(response, 403, "FORBIDDEN");
  });

  it("stores only a hash of each key", async () => {
    const { rows } = await db.pool.query<{ prefix: string; hash: string }>(
      "SELECT prefix, hash FROM api_keys",
    );
    const stored = JSON.stringify(rows);
    for (const k of made) expect(stored).not.toContain(k.slice(13));
  });

  it("never writes a key to the log", async () => {
    const lines = JSON.stringify(server.logs);
    expect(made.length).toBeGreaterThan(5);
    for (const k of made) {
      expect(lines).not.toContain(k);
      expect(lines).not.toContain(k.slice(13));
    }
  });
});

describe("per-key limits", () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({
      databaseUrl: db.url,
      env: { AUTH: "on", MAX_QUEUED_JOBS_PER_KEY: "1", RATE_LIMIT_PER_MINUTE: "5" },
      runJobs: false,
    });
  });
  afterAll(() => limited?.close());

  it("answers 429 once a key has its limit of queued jobs, not for another key", async () => {
    const first = await key("train");
    const second = await key("train");
    const queued = await limited.http.post("/train", quickXorRequest("limit-a"), bearer(first));
    expect(queued.status).toBe(202);
    const refused = await limited.http.post("/train", quickXorRequest("limit-b"), bearer(first));
    const problem = expectProblem(refused, 429, "TOO_MANY_REQUESTS");
    expect(problem.detail).toMatch(/1 queued or running training jobs, the limit is 1/);
    const other = await limited.http.post("/train", quickXorRequest("limit-c"), bearer(second));
    expect(other.status).toBe(202);
  });

  it("answers 429 with Retry-After past the key's requests per minute", async () => {
    const busy = await key("predict");
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof limited.http.request>> | undefined;
    for (let i = 0; i < 7; i++) {
      last = await limited.http.request("GET", "/models", { headers: bearer(busy) });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expectProblem(last!, 429, "TOO_MANY_REQUESTS");
    expect(last!.headers.get("retry-after")).toMatch(/^\d+$/);
    // Another key has its own budget.
    const fresh = await key("predict");
    expect((await limited.http.request("GET", "/models", { headers: bearer(fresh) })).status).toBe(
      200,
    );
  });
});

describe("the job limit under concurrent submissions", () => {
  const LIMIT = 3;
  // A database of its own: the server above would train these jobs, and a finished job no
  // longer counts against the limit.
  let ownDb: TestDatabase;
  let limited: TestServer;
  beforeAll(async () => {
    ownDb = await createTestDatabase();
    limited = await startTestServer({
      databaseUrl: ownDb.url,
      env: { AUTH: "on", MAX_QUEUED_JOBS_PER_KEY: String(LIMIT), RATE_LIMIT_PER_MINUTE: "0" },
      runJobs: false,
    });
  });
  afterAll(async () => {
    await limited?.close();
    await ownDb?.close();
  });

  it("accepts exactly the limit, links each job to its key at once, and answers the rest 429", async () => {
    const ownKeys = createKeyStore({ db: ownDb });
    const { key: trainer, apiKey } = await ownKeys.create({
      name: "concurrent",
      scopes: ["train"],
    });
    const { id: keyId, prefix } = apiKey;
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        limited.http.post<{ jobId: string }>(
          "/train",
          quickXorRequest(`rest-concurrent-${i % 2}`),
          bearer(trainer),
        ),
      ),
    );
    const accepted = responses.filter((r) => r.status === 202);
    const refused = responses.filter((r) => r.status !== 202);
    expect(accepted).toHaveLength(LIMIT);
    expect(refused).toHaveLength(8 - LIMIT);
    for (const response of refused) {
      const problem = expectProblem(response, 429, "TOO_MANY_REQUESTS");
      expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(problem.type).toBe("https://nnserve.dev/problems/too-many-requests");
      expect(problem.detail).toBe(
        `API key ${prefix} has 3 queued or running training jobs, the limit is 3; wait for one to finish or cancel one.`,
      );
    }
    const { rows } = await ownDb.pool.query<{ id: string }>(
      "SELECT id FROM training_jobs WHERE api_key_id = $1",
      [keyId],
    );
    expect(rows.map((r) => r.id).sort()).toEqual(accepted.map((r) => r.body.jobId).sort());
  });
});

describe("with AUTH=off", () => {
  it("serves no admin API: nobody can mint keys that would work once auth is on", async () => {
    const open = await startTestServer({ databaseUrl: db.url, env: { AUTH: "off" } });
    try {
      const created = await open.http.post<Problem>("/admin/keys", { scopes: ["admin"] });
      expect(created.status).toBe(404);
      expect((await open.http.get("/healthz")).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
