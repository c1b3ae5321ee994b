import { describe, expect, it } from "vitest";
import {
  allows,
  bearerToken,
  generateKey,
  hashKey,
  keyMatches,
  keyPrefix,
  parseScopes,
} from "../../src/auth/keys.ts";
import { grpcRequirement, restRequirement } from "../../src/auth/scopes.ts";

describe("API keys", () => {
  it("are nns_<8 public characters>_<43 secret characters>, with the prefix as their name", () => {
    const { key, prefix, hash } = generateKey();
    expect(key).toMatch(/^nns_[0-9A-Za-z]{8}_[0-9A-Za-z_-]{43}$/);
    expect(key.startsWith(`${prefix}_`)).toBe(true);
    expect(keyPrefix(key)).toBe(prefix);
    expect(hash).toBe(hashKey(key));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("are never the same twice", () => {
    const keys = new Set(Array.from({ length: 100 }, () => generateKey().key));
    expect(keys.size).toBe(100);
  });

  it("match only their own hash", () => {
    const a = generateKey();
    const b = generateKey();
    expect(keyMatches(a.key, a.hash)).toBe(true);
    expect(keyMatches(b.key, a.hash)).toBe(false);
    expect(keyMatches(a.key, "00")).toBe(false);
  });

  it("have no prefix when malformed, so no lookup is made", () => {
    expect(keyPrefix("nns_short_x")).toBeUndefined();
    expect(keyPrefix("Bearer nns_abc")).toBeUndefined();
    expect(keyPrefix("")).toBeUndefined();
  });

  it("are read from 'Bearer <key>' only", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer  abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken("abc")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe("scopes", () => {
  it("admin allows everything; predict and train only themselves", () => {
    expect(allows(["admin"], "train")).toBe(true);
    expect(allows(["predict"], "train")).toBe(false);
    expect(allows(["predict", "train"], "train")).toBe(true);
    expect(parseScopes("predict  train bogus")).toEqual(["predict", "train"]);
  });

  it.each([
    ["GET", "/healthz", "/healthz", "open"],
    ["GET", "/metrics", "/metrics", ["metrics"]],
    ["GET", "/v2/health/ready", "/v2/health/ready", "open"],
    ["POST", "/train", "/train", ["train"]],
    ["POST", "/jobs/:id/cancel", "/jobs/1/cancel", ["train"]],
    ["POST", "/studies", "/studies", ["train"]],
    ["GET", "/studies/:id", "/studies/x", ["train"]],
    ["GET", "/studies/:id/events", "/studies/x/events", ["train"]],
    ["POST", "/studies/:id/cancel", "/studies/x/cancel", ["train"]],
    ["POST", "/predict", "/predict", ["predict"]],
    ["POST", "/v2/models/:name/infer", "/v2/models/x/infer", ["predict"]],
    ["GET", "/models", "/models", ["predict", "train"]],
    ["DELETE", "/models/:name", "/models/x", ["admin"]],
    [
      "GET",
      "/models/:name/versions/:version/onnx",
      "/models/x/versions/1/onnx",
      ["predict", "train"],
    ],
    [
      "GET",
      "/models/:name/versions/:version/export",
      "/models/x/versions/1/export",
      ["predict", "train"],
    ],
    ["POST", "/models/:name/import", "/models/x/import", ["train"]],
    ["POST", "/admin/keys", "/admin/keys", ["admin"]],
    ["PUT", "/models/:name/aliases/:alias", "/models/x/aliases/production", ["deploy"]],
    ["DELETE", "/models/:name/aliases/:alias", "/models/x/aliases/production", ["deploy"]],
    ["GET", "/models/:name/aliases", "/models/x/aliases", ["predict", "train"]],
    ["POST", "/models/:name/rollback", "/models/x/rollback", ["deploy"]],
    ["PUT", "/models/:name/traffic", "/models/x/traffic", ["deploy"]],
    ["DELETE", "/models/:name/traffic", "/models/x/traffic", ["deploy"]],
    ["GET", "/models/:name/traffic", "/models/x/traffic", ["predict", "train"]],
    ["GET", "/models/:name/history", "/models/x/history", ["predict", "train"]],
    ["DELETE", "/models/:name/versions/:version", "/models/x/versions/1", ["admin"]],
    ["GET", "/docs/", "/docs/", "any"],
    ["GET", undefined, "/nowhere", "any"],
  ])("REST %s %s needs %j", (method, route, path, needed) => {
    expect(restRequirement(method, route, path)).toEqual(needed);
  });

  it.each([
    ["/grpc.health.v1.Health/Check", "open"],
    ["/inference.GRPCInferenceService/ServerReady", "open"],
    ["/inference.GRPCInferenceService/ModelInfer", ["predict"]],
    ["/nnserve.v1.Training/Train", ["train"]],
    ["/nnserve.v1.Studies/CreateStudy", ["train"]],
    ["/nnserve.v1.Studies/WatchStudy", ["train"]],
    ["/nnserve.v1.Prediction/Predict", ["predict"]],
    ["/nnserve.v1.Models/DeleteModel", ["admin"]],
    ["/nnserve.v1.Models/ExportOnnx", ["predict", "train"]],
    ["/nnserve.v1.Models/ExportModel", ["predict", "train"]],
    ["/nnserve.v1.Models/ImportModel", ["train"]],
    ["/nnserve.v1.Lifecycle/SetAlias", ["deploy"]],
    ["/nnserve.v1.Lifecycle/Rollback", ["deploy"]],
    ["/nnserve.v1.Lifecycle/SetTraffic", ["deploy"]],
    ["/nnserve.v1.Lifecycle/GetHistory", ["predict", "train"]],
    ["/nnserve.v1.Lifecycle/ListAliases", ["predict", "train"]],
    ["/nnserve.v1.Lifecycle/DeleteVersion", ["admin"]],
    ["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "any"],
  ])("gRPC %s needs %j", (path, needed) => {
    expect(grpcRequirement(path)).toEqual(needed);
  });
});
