/**
 * The deploy scope with AUTH on: a key that trains cannot put a version live; a deploy key
 * can, and the history names its prefix.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyStore, type KeyStore } from "../../src/auth/key-store.ts";
import type { Scope } from "../../src/auth/keys.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import type { HistoryPage } from "../../src/versions/aliases/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { quickXorRequest } from "../helpers/requests.ts";
import { startTestServer, type TestServer, waitFor } from "../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;
let keys: KeyStore;

beforeAll(async () => {
  db = await createTestDatabase();
  keys = createKeyStore({ db });
  server = await startTestServer({ databaseUrl: db.url, env: { AUTH: "on" } });
});
afterAll(async () => {
  await server?.close();
  await db?.close();
});

async function key(...scopes: Scope[]) {
  const { key, apiKey } = await keys.create({ name: scopes.join("-"), scopes });
  return { headers: { authorization: `Bearer ${key}` }, prefix: apiKey.prefix };
}

describe("the deploy scope", () => {
  it("is what moves an alias; the history records the key's prefix", async () => {
    const trainer = await key("train");
    const deployer = await key("deploy");
    const accepted = await server.http.post<TrainAccepted>(
      "/train",
      quickXorRequest("live"),
      trainer.headers,
    );
    expect(accepted.status).toBe(202);
    await waitFor("the job", async () => {
      const job = await server.http.request<{ status: string }>(
        "GET",
        `/jobs/${accepted.body.jobId}`,
        { headers: trainer.headers },
      );
      return job.body.status === "succeeded" ? true : undefined;
    });

    const body = { version: 1, reason: "reviewed" };
    const refused = await server.http.request("PUT", "/models/live/aliases/production", {
      json: body,
      headers: trainer.headers,
    });
    expect(refused.status).toBe(403);
    const allowed = await server.http.request("PUT", "/models/live/aliases/production", {
      json: body,
      headers: deployer.headers,
    });
    expect(allowed.status).toBe(200);

    const history = await server.http.request<HistoryPage>("GET", "/models/live/history", {
      headers: trainer.headers,
    });
    expect(history.body.events.map((e) => [e.kind, e.actor])).toEqual([
      ["alias_set", deployer.prefix],
      ["version_created", trainer.prefix],
    ]);
  });
});
