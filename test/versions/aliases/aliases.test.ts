/**
 * Aliases over HTTP on an in-process server with real Postgres: set, move, remove, rollback
 * (twice in a row), the history's completeness and order, the 409s, bad input that changes
 * nothing, and the history surviving the model's deletion.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../../src/platform/validation/problem.ts";
import type {
  AliasView,
  HistoryPage,
  ModelEventView,
} from "../../../src/versions/aliases/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { put, readyVersions } from "../../helpers/lifecycle.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  await readyVersions(server.http, "churn", 4);
  // Version 4 stands for a training that failed.
  await db.pool.query(
    `UPDATE model_versions SET status = 'failed' WHERE version = 4
      AND model_id = (SELECT id FROM models WHERE name = 'churn')`,
  );
}, 60_000);

afterAll(async () => {
  await server?.close();
  await db?.close();
});

const history = async (model: string) => {
  const page = await server.http.get<HistoryPage>(`/models/${model}/history?limit=200`);
  expect(page.status, JSON.stringify(page.body)).toBe(200);
  return page.body.events;
};
const eventCount = async () =>
  (await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM model_events")).rows[0]!.n;
const aliasRows = async () =>
  (await db.pool.query("SELECT alias, version_id FROM model_aliases ORDER BY alias")).rows;

describe("aliases", () => {
  it("records each version's creation with its job, newest first", async () => {
    const events = await history("churn");
    const created = events.filter((e) => e.kind === "version_created");
    expect(created.map((e) => e.toVersion)).toEqual([4, 3, 2, 1]);
    expect(created.at(-1)!.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created[0]!.jobId).toBeNull();
    expect(created[0]!.reason).toBe("imported from a model file");
    expect(created.every((e) => e.actor === null)).toBe(true);
  });

  it("sets, lists, moves and removes an alias, each recorded once with its reason", async () => {
    const set = await put<AliasView>(server.http, "/models/churn/aliases/staging", {
      version: 1,
      reason: "first look",
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ alias: "staging", version: 1, updatedBy: null });

    const moved = await put<AliasView>(server.http, "/models/churn/aliases/staging", {
      version: 2,
      reason: "better",
    });
    expect(moved.body.version).toBe(2);
    // The same version again changes nothing and records nothing.
    const before = await eventCount();
    const again = await put<AliasView>(server.http, "/models/churn/aliases/staging", {
      version: 2,
    });
    expect(again.status).toBe(200);
    expect(await eventCount()).toBe(before);

    const list = await server.http.get<{ aliases: AliasView[] }>("/models/churn/aliases");
    expect(list.body.aliases.map((a) => [a.alias, a.version])).toEqual([["staging", 2]]);

    const removed = await server.http.request(
      "DELETE",
      "/models/churn/aliases/staging?reason=done",
    );
    expect(removed.status).toBe(204);
    const gone = await server.http.request<Problem>("DELETE", "/models/churn/aliases/staging");
    expect(gone.status).toBe(404);

    const events = (await history("churn")).filter((e) => e.alias === "staging");
    expect(events.map((e) => [e.kind, e.fromVersion, e.toVersion, e.reason])).toEqual([
      ["alias_removed", 2, null, "done"],
      ["alias_moved", 1, 2, "better"],
      ["alias_set", null, 1, "first look"],
    ]);
  });

  it("rolls back twice in a row, two steps back, each recorded, then refuses", async () => {
    for (const version of [1, 2, 3]) {
      const r = await put(server.http, "/models/churn/aliases/production", { version });
      expect(r.status).toBe(200);
    }
    const first = await server.http.post<AliasView>("/models/churn/rollback", {
      alias: "production",
      reason: "v3 misbehaves",
    });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.version).toBe(2);
    // production is the default alias of a rollback.
    const second = await server.http.post<AliasView>("/models/churn/rollback", {
      reason: "v2 too",
    });
    expect(second.body.version).toBe(1);
    const third = await server.http.post<Problem>("/models/churn/rollback", {});
    expect(third.status).toBe(409);
    expect(third.headers.get("content-type")).toContain("application/problem+json");
    expect(third.body.errors?.[0]?.path).toBe("alias");

    const rollbacks = (await history("churn")).filter((e) => e.kind === "rollback");
    expect(rollbacks.map((e) => [e.fromVersion, e.toVersion, e.reason])).toEqual([
      [2, 1, "v2 too"],
      [3, 2, "v3 misbehaves"],
    ]);
    const list = await server.http.get<{ aliases: AliasView[] }>("/models/churn/aliases");
    expect(list.body.aliases).toEqual([
      expect.objectContaining({ alias: "production", version: 1 }),
    ]);
  });

  it("refuses bad input with problem+json and a field path, and changes nothing", async () => {
    const events = await eventCount();
    const aliases = await aliasRows();
    const cases: [string, string, unknown, number, string][] = [
      ["unknown version", "/models/churn/aliases/staging", { version: 9 }, 404, "version"],
      ["failed version", "/models/churn/aliases/staging", { version: 4 }, 409, "version"],
      ["version 0", "/models/churn/aliases/staging", { version: 0 }, 400, "version"],
      ["extra field", "/models/churn/aliases/staging", { version: 1, to: 2 }, 400, "to"],
      ["all digits", "/models/churn/aliases/42", { version: 1 }, 400, "alias"],
      ["a slash", "/models/churn/aliases/a%2Fb", { version: 1 }, 400, "alias"],
      ["upper case", "/models/churn/aliases/Prod", { version: 1 }, 400, "alias"],
    ];
    for (const [what, path, body, status, field] of cases) {
      const r = await put<Problem>(server.http, path, body);
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(status);
      expect(r.headers.get("content-type"), what).toContain("application/problem+json");
      expect(
        r.body.errors?.map((e) => e.path),
        what,
      ).toContain(field);
    }
    const unknownModel = await put<Problem>(server.http, "/models/nope/aliases/staging", {
      version: 1,
    });
    expect(unknownModel.status).toBe(404);
    expect(await eventCount()).toBe(events);
    expect(await aliasRows()).toEqual(aliases);
  });

  it("keeps the history readable after the model is deleted, ending with the deletion", async () => {
    await readyVersions(server.http, "gone", 2);
    await put(server.http, "/models/gone/aliases/production", { version: 2, reason: "go" });
    const deleted = await server.http.delete("/models/gone");
    expect(deleted.status).toBe(204);
    expect((await server.http.get("/models/gone")).status).toBe(404);
    const events: ModelEventView[] = await history("gone");
    expect(events.map((e) => e.kind)).toEqual([
      "model_deleted",
      "alias_set",
      "version_created",
      "version_created",
    ]);
    expect((await server.http.get("/models/never/history")).status).toBe(404);
  });

  it("refuses to delete a version an alias or the split uses, unless forced, which is recorded", async () => {
    await readyVersions(server.http, "used", 3);
    await put(server.http, "/models/used/aliases/production", { version: 2 });
    await put(server.http, "/models/used/traffic", {
      split: [
        { version: 1, weight: 50 },
        { version: 2, weight: 50 },
      ],
    });
    const before = await eventCount();
    const refused = await server.http.delete<Problem>("/models/used/versions/2");
    expect(refused.status).toBe(409);
    expect(refused.body.errors?.map((e) => e.path)).toEqual(["force"]);
    expect(refused.body.detail).toContain('alias "production" and the traffic split');
    expect(await eventCount()).toBe(before);

    expect((await server.http.delete("/models/used/versions/3")).status).toBe(204);
    const forced = await server.http.delete("/models/used/versions/2?force=true&reason=bad%20data");
    expect(forced.status).toBe(204);
    const model = await server.http.get<{ versions: { version: number }[] }>("/models/used");
    expect(model.body.versions.map((v) => v.version)).toEqual([1]);
    const events = (await history("used")).slice(0, 4);
    expect(events.map((e) => [e.kind, e.alias, e.fromVersion, e.reason])).toEqual([
      ["version_deleted", null, 2, "bad data"],
      ["traffic_cleared", null, null, "version 2 deleted"],
      ["alias_removed", "production", 2, "version 2 deleted"],
      ["version_deleted", null, 3, null],
    ]);
    // Routing falls back to the newest ready version left.
    const answer = await server.http.post<{ version: number }>("/predict", {
      model: "used",
      inputs: [[0, 1]],
    });
    expect(answer.body.version).toBe(1);
    expect((await server.http.delete<Problem>("/models/used/versions/7")).status).toBe(404);
  });

  it("documents every lifecycle route in the OpenAPI document", async () => {
    const doc = await server.http.get<{
      paths: Record<string, Record<string, { operationId: string; tags: string[] }>>;
    }>("/docs/json");
    const operations = Object.values(doc.body.paths)
      .flatMap((methods) => Object.values(methods))
      .filter((op) => op.tags?.includes("lifecycle"))
      .map((op) => op.operationId)
      .sort();
    expect(operations).toEqual([
      "clearTraffic",
      "deleteVersion",
      "getTraffic",
      "listAliases",
      "modelHistory",
      "removeAlias",
      "rollback",
      "setAlias",
      "setTraffic",
    ]);
  });

  it("pages the history newest first with a cursor", async () => {
    const first = await server.http.get<HistoryPage>("/models/churn/history?limit=3");
    expect(first.body.events).toHaveLength(3);
    const ids = first.body.events.map((e) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : 1))).toEqual(ids);
    const next = await server.http.get<HistoryPage>(
      `/models/churn/history?limit=3&cursor=${first.body.nextCursor}`,
    );
    expect(BigInt(next.body.events[0]!.id)).toBeLessThan(ids.at(-1)!);
  });
});
