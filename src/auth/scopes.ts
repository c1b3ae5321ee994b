/**
 * Which scope each operation needs, for REST routes and gRPC methods alike, in one table so the
 * two transports cannot drift apart. `open`: no key (probes). `metrics`: /metrics, whose model
 * names and counts are no one else's business; Prometheus sends a key with that scope. `any`: any valid key (the
 * API docs, gRPC reflection, unknown routes, which then answer 404). Otherwise one of the scopes
 * listed; `admin` passes every check (see allows() in keys.ts).
 */
import type { Scope } from "./keys.ts";

export type Requirement = "open" | "any" | readonly Scope[];

const READ_MODELS: readonly Scope[] = ["predict", "train"];

/** REST: by method and route pattern (fastify's routeOptions.url). */
export function restRequirement(
  method: string,
  route: string | undefined,
  path: string,
): Requirement {
  if (path === "/metrics") return ["metrics"];
  if (OPEN_PATHS.has(path) || isUiPath(path)) return "open";
  if (route === undefined) return "any";
  if (route.startsWith("/admin/")) return ["admin"];
  // Datasets are training's input: uploading, reading and deleting them is training's scope.
  // A study is training (its trials are jobs): creating, reading and cancelling one too.
  if (
    route === "/train" ||
    route.startsWith("/jobs") ||
    route.startsWith("/datasets") ||
    route.startsWith("/studies")
  ) {
    return ["train"];
  }
  if (route === "/predict" || route === "/v2" || route.startsWith("/v2/")) return ["predict"];
  if (route.startsWith("/batch-predictions")) return ["predict"];
  // An import writes a new version, as training does.
  if (route === "/models/:name/import") return ["train"];
  if (isDeployRoute(method, route)) return ["deploy"];
  if (route.startsWith("/models")) return method === "DELETE" ? ["admin"] : READ_MODELS;
  return "any";
}

/**
 * What decides which version serves (aliases, rollback, traffic) is the deploy scope's: a key
 * that may train a version may not, by that alone, put it live.
 */
function isDeployRoute(method: string, route: string): boolean {
  if (method === "GET" || method === "HEAD") return false;
  return (
    route.startsWith("/models/:name/aliases") ||
    route === "/models/:name/rollback" ||
    route === "/models/:name/traffic"
  );
}

/**
 * Probe paths, answered even while shutting down or overloaded; with AUTH on, all but /metrics
 * need no key (an orchestrator has none).
 */
export const OPEN_PATHS = new Set([
  "/healthz",
  "/readyz",
  "/metrics",
  "/v2/health/live",
  "/v2/health/ready",
]);

/**
 * The dashboard's static files: pages and scripts with no data in them, which a browser loads
 * before the user has typed a key; every API call they make needs the key as usual.
 */
export function isUiPath(path: string): boolean {
  return path === "/ui" || path.startsWith("/ui/");
}

/** gRPC: by full method path, `/package.Service/Method`. */
export function grpcRequirement(path: string): Requirement {
  const [, service = "", method = ""] = path.split("/");
  switch (service) {
    case "grpc.health.v1.Health":
      return "open";
    case "nnserve.v1.Training":
    case "nnserve.v1.Datasets":
    case "nnserve.v1.Studies":
      return ["train"];
    case "nnserve.v1.Prediction":
      return ["predict"];
    case "nnserve.v1.Operate":
      return ["predict"];
    case "nnserve.v1.Models":
      if (method === "DeleteModel") return ["admin"];
      return method === "ImportModel" ? ["train"] : READ_MODELS;
    case "nnserve.v1.Lifecycle":
      if (method === "DeleteVersion") return ["admin"];
      return method.startsWith("List") || method.startsWith("Get") ? READ_MODELS : ["deploy"];
    case "inference.GRPCInferenceService":
      return method === "ServerLive" || method === "ServerReady" ? "open" : ["predict"];
    default:
      return "any"; // reflection
  }
}
