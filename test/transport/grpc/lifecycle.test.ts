/**
 * nnserve.v1.Lifecycle and the routing fields of Predict and the Open Inference Protocol, on a
 * real gRPC server: the same operations and errors as REST (FAILED_PRECONDITION for a 409,
 * INVALID_ARGUMENT with the field path), and responses that say the alias they came through.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelInferResponse__Output } from "../../../src/generated/grpc/inference/ModelInferResponse.ts";
import type { Alias__Output } from "../../../src/generated/grpc/nnserve/v1/Alias.ts";
import type { History__Output } from "../../../src/generated/grpc/nnserve/v1/History.ts";
import type { ListAliasesResponse__Output } from "../../../src/generated/grpc/nnserve/v1/ListAliasesResponse.ts";
import type { PredictResponse__Output } from "../../../src/generated/grpc/nnserve/v1/PredictResponse.ts";
import type { Traffic__Output } from "../../../src/generated/grpc/nnserve/v1/Traffic.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { readyVersions } from "../../helpers/lifecycle.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { failure, fieldIssues, type GrpcClients, grpcClients, status, unary } from "./helpers.ts";

let db: TestDatabase;
let server: TestServer;
let clients: GrpcClients;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  clients = grpcClients(server.grpcAddress);
  await readyVersions(server.http, "churn", 3);
  await db.pool.query(
    `UPDATE model_versions SET status = 'failed' WHERE version = 3
      AND model_id = (SELECT id FROM models WHERE name = 'churn')`,
  );
}, 60_000);

afterAll(async () => {
  clients?.close();
  await server?.close();
  await db?.close();
});

const predict = (req: Record<string, unknown>) =>
  unary<PredictResponse__Output>((cb) =>
    clients.prediction.Predict(
      { model: "churn", inputs: { width: 2, values: [0, 1] }, ...req },
      cb,
    ),
  );

describe("Lifecycle over gRPC", () => {
  it("sets, lists and rolls back aliases; Predict pins one and says so", async () => {
    const set = await unary<Alias__Output>((cb) =>
      clients.lifecycle.SetAlias(
        { name: "churn", alias: "staging", version: 1, reason: "try" },
        cb,
      ),
    );
    expect(set).toMatchObject({ alias: "staging", version: 1, updatedBy: "" });
    await unary((cb) =>
      clients.lifecycle.SetAlias({ name: "churn", alias: "staging", version: 2 }, cb),
    );
    const list = await unary<ListAliasesResponse__Output>((cb) =>
      clients.lifecycle.ListAliases({ name: "churn" }, cb),
    );
    expect(list.aliases.map((a) => [a.alias, a.version])).toEqual([["staging", 2]]);

    const pinned = await predict({ alias: "staging" });
    expect(pinned).toMatchObject({ version: 2, alias: "staging" });
    const routed = await predict({});
    expect(routed.version).toBe(2);
    expect(routed.alias).toBeUndefined();

    const back = await unary<Alias__Output>((cb) =>
      clients.lifecycle.Rollback({ name: "churn", alias: "staging", reason: "oops" }, cb),
    );
    expect(back.version).toBe(1);
    const history = await unary<History__Output>((cb) =>
      clients.lifecycle.GetHistory({ name: "churn", limit: 3 }, cb),
    );
    expect(history.events.map((e) => [e.kind, e.fromVersion, e.toVersion])).toEqual([
      ["rollback", 2, 1],
      ["alias_moved", 1, 2],
      ["alias_set", undefined, 1],
    ]);
    expect(history.nextCursor).not.toBe("");
  });

  it("refuses what REST refuses, with FAILED_PRECONDITION for a 409 and field paths", async () => {
    const failed = await failure(
      unary((cb) =>
        clients.lifecycle.SetAlias({ name: "churn", alias: "production", version: 3 }, cb),
      ),
    );
    expect(failed.code).toBe(status.FAILED_PRECONDITION);
    expect(fieldIssues(failed.metadata).map((i) => i.path)).toEqual(["version"]);

    const slash = await failure(
      unary((cb) => clients.lifecycle.SetAlias({ name: "churn", alias: "a/b", version: 1 }, cb)),
    );
    expect(slash.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(slash.metadata).map((i) => i.path)).toEqual(["alias"]);

    const ninetyNine = await failure(
      unary((cb) =>
        clients.lifecycle.SetTraffic(
          {
            name: "churn",
            split: [
              { version: 1, weight: 90 },
              { version: 2, weight: 9 },
            ],
          },
          cb,
        ),
      ),
    );
    expect(ninetyNine.code).toBe(status.INVALID_ARGUMENT);
    expect(ninetyNine.details).toContain("weights sum to 99");

    const unknown = await failure(
      unary((cb) =>
        clients.lifecycle.SetTraffic({ name: "churn", split: [{ version: 9, weight: 100 }] }, cb),
      ),
    );
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(fieldIssues(unknown.metadata).map((i) => i.path)).toEqual(["split[0].version"]);

    const noEarlier = await failure(
      unary((cb) => clients.lifecycle.Rollback({ name: "churn", alias: "staging" }, cb)),
    );
    expect(noEarlier.code).toBe(status.FAILED_PRECONDITION);

    const both = await failure(predict({ version: 1, alias: "staging" }));
    expect(both.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(both.metadata).map((i) => i.path)).toEqual(["alias"]);
  });

  it("sets, reads and clears traffic with per-version figures", async () => {
    const set = await unary<Traffic__Output>((cb) =>
      clients.lifecycle.SetTraffic(
        {
          name: "churn",
          split: [
            { version: 1, weight: 50 },
            { version: 2, weight: 50 },
          ],
          stickyBy: "routingKey",
          reason: "canary",
        },
        cb,
      ),
    );
    expect(set.split.map((s) => [s.version, s.weight])).toEqual([
      [1, 50],
      [2, 50],
    ]);
    expect(set.stickyBy).toBe("routingKey");
    const first = await predict({ routingKey: "customer-7" });
    for (let i = 0; i < 5; i++) {
      expect((await predict({ routingKey: "customer-7" })).version).toBe(first.version);
    }
    // The Open Inference Protocol takes the key as a parameter, over gRPC and REST alike.
    const oip = await unary<ModelInferResponse__Output>((cb) =>
      clients.inference.ModelInfer(
        {
          modelName: "churn",
          parameters: { routing_key: { stringParam: "customer-7" } },
          inputs: [
            { name: "input", datatype: "FP32", shape: [1, 2], contents: { fp32Contents: [0, 1] } },
          ],
        },
        cb,
      ),
    );
    expect(oip.modelVersion).toBe(String(first.version));
    const rest = await server.http.post<{ model_version: string }>("/v2/models/churn/infer", {
      parameters: { routing_key: "customer-7" },
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], data: [0, 1] }],
    });
    expect(rest.body.model_version).toBe(String(first.version));
    const traffic = await unary<Traffic__Output>((cb) =>
      clients.lifecycle.GetTraffic({ name: "churn" }, cb),
    );
    const answered = traffic.split.find((s) => s.version === first.version)!;
    expect(Number(answered.requests)).toBeGreaterThanOrEqual(8);
    await unary((cb) => clients.lifecycle.ClearTraffic({ name: "churn" }, cb));
    const cleared = await unary<Traffic__Output>((cb) =>
      clients.lifecycle.GetTraffic({ name: "churn" }, cb),
    );
    expect(cleared.split).toEqual([]);
  });

  it("takes an alias as the Open Inference Protocol's version, and names it in parameters", async () => {
    const request = {
      modelName: "churn",
      modelVersion: "staging",
      inputs: [
        { name: "input", datatype: "FP32", shape: [1, 2], contents: { fp32Contents: [0, 1] } },
      ],
    };
    const answer = await unary<ModelInferResponse__Output>((cb) =>
      clients.inference.ModelInfer(request, cb),
    );
    expect(answer.modelVersion).toBe("1");
    expect(answer.parameters.alias?.stringParam).toBe("staging");

    const rest = await server.http.post<{ model_version: string; parameters?: { alias: string } }>(
      "/v2/models/churn/versions/staging/infer",
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], data: [0, 1] }] },
    );
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);
    expect(rest.body).toMatchObject({ model_version: "1", parameters: { alias: "staging" } });
    const ready = await server.http.get("/v2/models/churn/versions/staging/ready");
    expect(ready.status).toBe(200);
    const unknown = await server.http.post<{ error: string }>(
      "/v2/models/churn/versions/canary/infer",
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], data: [0, 1] }] },
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toContain("alias");
  });
});
