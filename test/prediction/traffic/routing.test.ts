/**
 * Which version answers, over HTTP on an in-process server with real Postgres: the resolution
 * order (split, alias production, newest ready), pinning by version or alias, split proportions
 * and stickiness, the shadow never changing an answer nor failing a request, and bad traffic
 * input refused with a field path, changing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../../src/platform/validation/problem.ts";
import type { PredictResponse } from "../../../src/prediction/request.ts";
import type { TrafficView } from "../../../src/prediction/traffic/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { put, readyVersions } from "../../helpers/lifecycle.ts";
import { XOR_INPUTS } from "../../helpers/requests.ts";
import { startTestServer, type TestServer, waitFor } from "../../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  // Routing changes made here are seen at once (events); the TTL matters only across replicas.
  server = await startTestServer({ databaseUrl: db.url });
  await readyVersions(server.http, "churn", 3);
  await readyVersions(server.http, "other", 7);
}, 90_000);

afterAll(async () => {
  await server?.close();
  await db?.close();
});

async function predict(body: Record<string, unknown>, headers?: Record<string, string>) {
  const r = await server.http.post<PredictResponse>(
    "/predict",
    { model: "churn", inputs: [XOR_INPUTS[1]], ...body },
    headers,
  );
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}
const answeredBy = async (body: Record<string, unknown> = {}) => {
  const { version, alias } = await predict(body);
  return alias === undefined ? { version } : { version, alias };
};

describe("resolution order", () => {
  it("newest ready, then alias production, then the split; each step undone in reverse", async () => {
    expect(await answeredBy()).toEqual({ version: 3 });
    expect(
      (await put(server.http, "/models/churn/aliases/production", { version: 1 })).status,
    ).toBe(200);
    expect(await answeredBy()).toEqual({ version: 1, alias: "production" });
    const split = await put(server.http, "/models/churn/traffic", {
      split: [{ version: 2, weight: 100 }],
    });
    expect(split.status, JSON.stringify(split.body)).toBe(200);
    expect(await answeredBy()).toEqual({ version: 2 });
    expect((await server.http.request("DELETE", "/models/churn/traffic")).status).toBe(204);
    expect(await answeredBy()).toEqual({ version: 1, alias: "production" });
    expect((await server.http.request("DELETE", "/models/churn/aliases/production")).status).toBe(
      204,
    );
    expect(await answeredBy()).toEqual({ version: 3 });
  });

  it("pins a version or an alias whatever the split says", async () => {
    await put(server.http, "/models/churn/aliases/staging", { version: 2 });
    await put(server.http, "/models/churn/traffic", { split: [{ version: 3, weight: 100 }] });
    expect(await answeredBy({ version: 1 })).toEqual({ version: 1 });
    expect(await answeredBy({ alias: "staging" })).toEqual({ version: 2, alias: "staging" });
    const both = await server.http.post<Problem>("/predict", {
      model: "churn",
      version: 1,
      alias: "staging",
      inputs: [[0, 1]],
    });
    expect(both.status).toBe(400);
    expect(both.body.errors?.map((e) => e.path)).toEqual(["alias"]);
    const unknown = await server.http.post<Problem>("/predict", {
      model: "churn",
      alias: "canary",
      inputs: [[0, 1]],
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors?.map((e) => e.path)).toEqual(["alias"]);
    await server.http.request("DELETE", "/models/churn/traffic");
  });
});

describe("a split", () => {
  it("routes 2,000 keyed requests 90/10 within 3 points, each key always to the same version", async () => {
    const set = await put<TrafficView>(server.http, "/models/churn/traffic", {
      split: [
        { version: 1, weight: 90 },
        { version: 2, weight: 10 },
      ],
      stickyBy: "routingKey",
      reason: "canary v2",
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const first = new Map<string, number>();
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const key = `customer-${i}`;
      const { version } = await predict({ routingKey: key });
      first.set(key, version);
      counts.set(version, (counts.get(version) ?? 0) + 1);
    }
    const share = (counts.get(2) ?? 0) / 2000;
    expect(Math.abs(share - 0.1)).toBeLessThanOrEqual(0.03);
    // The same keys again, half in the header: each lands where it did.
    for (let i = 0; i < 200; i++) {
      const key = `customer-${i}`;
      const again =
        i % 2 === 0
          ? await predict({ routingKey: key })
          : await predict({}, { "x-routing-key": key });
      expect(again.version, key).toBe(first.get(key));
    }
    const traffic = await server.http.get<TrafficView>("/models/churn/traffic");
    expect(traffic.body.split.map((s) => [s.version, s.weight])).toEqual([
      [1, 90],
      [2, 10],
    ]);
    expect(
      traffic.body.split[0]!.requests + traffic.body.split[1]!.requests,
    ).toBeGreaterThanOrEqual(2200);
    expect(traffic.body.split[0]!.p99Ms).toBeGreaterThan(0);
  });

  it("refuses bad traffic with a field path and changes nothing", async () => {
    const before = await db.pool.query("SELECT * FROM traffic_splits ORDER BY model_id");
    const events = await db.pool.query("SELECT count(*)::int AS n FROM model_events");
    await db.pool.query(
      `UPDATE model_versions SET status = 'failed' WHERE version = 3
        AND model_id = (SELECT id FROM models WHERE name = 'other')`,
    );
    const cases: [string, unknown, number, string][] = [
      [
        "weights summing to 99",
        {
          split: [
            { version: 1, weight: 89 },
            { version: 2, weight: 10 },
          ],
        },
        400,
        "split",
      ],
      [
        "another model's version",
        {
          split: [
            { version: 1, weight: 90 },
            { version: 7, weight: 10 },
          ],
        },
        404,
        "split[1].version",
      ],
      [
        "a version twice",
        {
          split: [
            { version: 1, weight: 50 },
            { version: 1, weight: 50 },
          ],
        },
        400,
        "split[1].version",
      ],
      [
        "a fractional weight",
        {
          split: [
            { version: 1, weight: 99.5 },
            { version: 2, weight: 0.5 },
          ],
        },
        400,
        "split[0].weight",
      ],
      [
        "an unknown shadow",
        { split: [{ version: 1, weight: 100 }], shadow: { version: 9 } },
        404,
        "shadow.version",
      ],
      [
        "a shadow in the split",
        { split: [{ version: 1, weight: 100 }], shadow: { version: 1 } },
        400,
        "shadow.version",
      ],
      [
        "an unknown sticky field",
        { split: [{ version: 1, weight: 100 }], stickyBy: "ip" },
        400,
        "stickyBy",
      ],
    ];
    for (const [what, body, status, path] of cases) {
      const r = await put<Problem>(server.http, "/models/churn/traffic", body);
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(status);
      expect(r.headers.get("content-type"), what).toContain("application/problem+json");
      expect(
        r.body.errors?.map((e) => e.path),
        what,
      ).toContain(path);
    }
    const failed = await put<Problem>(server.http, "/models/other/traffic", {
      split: [{ version: 3, weight: 100 }],
    });
    expect(failed.status).toBe(409);
    expect(failed.body.errors?.map((e) => e.path)).toEqual(["split[0].version"]);
    expect((await db.pool.query("SELECT * FROM traffic_splits ORDER BY model_id")).rows).toEqual(
      before.rows,
    );
    expect((await db.pool.query("SELECT count(*)::int AS n FROM model_events")).rows).toEqual(
      events.rows,
    );
  });
});

describe("a shadow", () => {
  it("gets a copy of each routed request, never changes the answer, and is compared", async () => {
    await put(server.http, "/models/churn/traffic", {
      split: [{ version: 1, weight: 100 }],
      shadow: { version: 2 },
    });
    for (const row of XOR_INPUTS) {
      const routed = await predict({ inputs: [row] });
      const alone = await predict({ version: 1, inputs: [row] });
      expect(routed.version).toBe(1);
      expect(routed.outputs).toEqual(alone.outputs);
    }
    // Version 2 is an import of version 1: same weights, so the shadow always agrees.
    const shadow = await waitFor("the shadow's comparisons", async () => {
      const r = await server.http.get<TrafficView>("/models/churn/traffic");
      return (r.body.shadow?.rowsCompared ?? 0) >= 4 ? r.body.shadow! : undefined;
    });
    expect(shadow).toMatchObject({ version: 2, errors: 0, labelAgreement: 1 });
    const metrics = await server.http.get<string>("/metrics");
    expect(metrics.body).toMatch(/nnserve_shadow_agreement\{model="churn",version="2"\} 1/);
    expect(metrics.body).toMatch(
      /nnserve_predictions_total\{model="churn",version="1",outcome="ok"\} \d+/,
    );
  });

  it("fails alone: a shadow that cannot run leaves every request answered", async () => {
    // A new version 4, never loaded, whose weights are then corrupted (too few bytes): loading
    // it fails every time.
    const file = await server.http.get("/models/churn/versions/1/export");
    expect((await server.http.post("/models/churn/import", file.body)).status).toBe(201);
    await db.pool.query(
      `UPDATE model_versions SET weights = '\\x00'::bytea WHERE version = 4
        AND model_id = (SELECT id FROM models WHERE name = 'churn')`,
    );
    await put(server.http, "/models/churn/traffic", {
      split: [{ version: 1, weight: 100 }],
      shadow: { version: 4 },
    });
    for (let i = 0; i < 5; i++) expect((await predict({})).version).toBe(1);
    const shadow = await waitFor("the shadow's failures", async () => {
      const r = await server.http.get<TrafficView>("/models/churn/traffic");
      return (r.body.shadow?.errors ?? 0) >= 1 ? r.body.shadow! : undefined;
    });
    expect(shadow.rowsCompared).toBe(0);
    await server.http.request("DELETE", "/models/churn/traffic");
  });
});
