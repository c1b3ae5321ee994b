/**
 * The probe paths: liveness, readiness and metrics, which an orchestrator or Prometheus calls
 * without an API key and which must answer even while the server is shutting down or
 * overloaded. One predicate for every place that treats them apart: auth and the rate limit
 * (plugins/auth.ts, through scopes.ts), shutdown refusal and load shedding
 * (plugins/protection.ts), and the request log level (app.ts).
 *
 * The list itself is OPEN_PATHS in src/auth/scopes.ts, the table that also decides what a REST
 * route needs; it is not repeated here.
 */
import { OPEN_PATHS } from "../../auth/scopes.ts";

/** The path of a raw request URL, without its query string. */
export function pathOf(url: string): string {
  return url.split("?")[0]!;
}

/** Exact paths only: `/healthz/x` or `/metricsfoo` is an unknown route like any other. */
export const PROBE_PATHS: ReadonlySet<string> = OPEN_PATHS;

/** True for a request to a probe path (the URL may carry a query string). */
export function isProbe(request: { url: string }): boolean {
  return PROBE_PATHS.has(pathOf(request.url));
}
