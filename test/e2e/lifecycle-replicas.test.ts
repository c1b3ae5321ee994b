/**
 * Two replicas on one database: an alias move, a rollback or a split change made through one is
 * obeyed by the other within 2 s (its resolver's TTL is 500 ms here, PREDICT_RESOLVE_TTL_MS;
 * the 2 s leave room for a busy machine), and the history shows each change once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { HistoryPage } from "../../src/versions/aliases/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { put, readyVersions } from "../helpers/lifecycle.ts";
import { startTestServer, type TestServer, waitFor } from "../helpers/server.ts";

let db: TestDatabase;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  const env = { PREDICT_RESOLVE_TTL_MS: "500" };
  a = await startTestServer({ databaseUrl: db.url, env });
  b = await startTestServer({ databaseUrl: db.url, env, runJobs: false });
  await readyVersions(a.http, "churn", 2);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await db?.close();
});

const versionOn = async (server: TestServer) => {
  const r = await server.http.post<PredictResponse>("/predict", {
    model: "churn",
    inputs: [[0, 1]],
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.version;
};

/** Polls replica b until it answers with `version`; fails past 2 s after the change. */
const bFollows = (version: number) =>
  waitFor(
    `replica b to answer with version ${version}`,
    async () => ((await versionOn(b)) === version ? true : undefined),
    { timeoutMs: 2_000, intervalMs: 20 },
  );

describe("two replicas", () => {
  it("obey an alias move, a rollback and a split made through the other within 2 s", async () => {
    // b has the model's routing cached: it answers with the newest.
    expect(await versionOn(b)).toBe(2);

    expect((await put(a.http, "/models/churn/aliases/production", { version: 1 })).status).toBe(
      200,
    );
    expect(await versionOn(a)).toBe(1);
    await bFollows(1);

    expect((await put(a.http, "/models/churn/aliases/production", { version: 2 })).status).toBe(
      200,
    );
    await bFollows(2);

    expect((await a.http.post("/models/churn/rollback", { reason: "back" })).status).toBe(200);
    await bFollows(1);

    const split = await put(a.http, "/models/churn/traffic", {
      split: [{ version: 2, weight: 100 }],
    });
    expect(split.status).toBe(200);
    await bFollows(2);

    // A version or alias made through a, pinned at once through b: b asks again rather than
    // answer from what it remembers.
    const file = await a.http.get("/models/churn/versions/1/export");
    expect((await a.http.post("/models/churn/import", file.body)).status).toBe(201);
    expect((await put(a.http, "/models/churn/aliases/staging", { version: 3 })).status).toBe(200);
    const pinned = await b.http.post<PredictResponse>("/predict", {
      model: "churn",
      version: 3,
      inputs: [[0, 1]],
    });
    expect(pinned.status, JSON.stringify(pinned.body)).toBe(200);
    const viaAlias = await b.http.post<PredictResponse>("/predict", {
      model: "churn",
      alias: "staging",
      inputs: [[0, 1]],
    });
    expect(viaAlias.body).toMatchObject({ version: 3, alias: "staging" });

    // Each change is one event, whichever replica is asked.
    for (const server of [a, b]) {
      const page = await server.http.get<HistoryPage>("/models/churn/history");
      expect(page.body.events.map((e) => e.kind).slice(0, 6)).toEqual([
        "alias_set",
        "version_created",
        "traffic_set",
        "rollback",
        "alias_moved",
        "alias_set",
      ]);
    }
  });
});
