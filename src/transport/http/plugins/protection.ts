/**
 * What keeps the HTTP API standing on a network: security headers (helmet), load shedding
 * (@fastify/under-pressure: past an event-loop delay,
 * utilisation or memory threshold, 503 + Retry-After instead of falling over), and refusing new
 * work with 503 once shutdown began, while requests already in flight finish. (The request,
 * connection and keep-alive timeouts are fastify options: see buildApp in app.ts.)
 *
 * Probes and metrics are never refused: an orchestrator must still see /readyz go false during a
 * shutdown (it answers 503 itself then), and /metrics is how an overload is diagnosed.
 */
import fastifyUnderPressure from "@fastify/under-pressure";
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import helmet from "helmet";
import type { Config } from "../../../platform/config.ts";
import { unavailable } from "../../../platform/errors.ts";
import { isProbe } from "../probes.ts";
import { sendProblem } from "../problem.ts";
import { REQUEST_ID_HEADER } from "../request-id.ts";

// This plugin's hooks run before the API's, which set the request id header; refusals set it
// too. The shutdown refusal is thrown, so that each route's error handler answers in its own
// format (/v2 has the protocol's); the handlers log it as a warning, not as a failure.

export interface ProtectionOptions {
  config: Pick<Config, "overload"> & Partial<Pick<Config, "trustProxyTls">>;
  /** True once shutdown began. */
  shuttingDown?: () => boolean;
}

/** Retry-After for a replica that is going away: the client should come back (elsewhere) soon. */
const SHUTDOWN_RETRY_AFTER_S = 1;

const protection: FastifyPluginAsync<ProtectionOptions> = async (app, { config, shuttingDown }) => {
  const { overload } = config;

  // JSON API: helmet's defaults (no sniffing, no framing, HSTS, a strict CSP) fit; the docs UI
  // at /docs loads its scripts and styles from 'self', which the default CSP allows. They are
  // the same for every response, so helmet computes them once here: run per request (as
  // @fastify/helmet does), rebuilding the CSP cost a sixth of a small prediction's CPU time.
  const securityHeaders = helmetHeaders(config.trustProxyTls ?? false);
  app.addHook("onRequest", async (_request, reply) => {
    reply.headers(securityHeaders);
  });

  app.addHook("onRequest", async (request, reply) => {
    if (shuttingDown?.() && !isProbe(request)) {
      // Close the keep-alive connection too, so the client's next request reaches another replica.
      reply
        .header(REQUEST_ID_HEADER, request.id)
        .header("retry-after", String(SHUTDOWN_RETRY_AFTER_S))
        .header("connection", "close");
      throw unavailable(
        "This server is shutting down; retry the request (another replica will answer).",
      );
    }
  });

  let lastWarning = 0;
  await app.register(fastifyUnderPressure, {
    maxEventLoopDelay: overload.maxEventLoopDelayMs,
    maxEventLoopUtilization: overload.maxEventLoopUtilization,
    // Utilisation over the last sample, not since start (the default, which averages away a
    // burst in a long-running process and then lingers after it).
    eventLoopUtilizationMode: "interval",
    maxHeapUsedBytes: overload.maxHeapUsedBytes,
    maxRssBytes: overload.maxRssBytes,
    sampleInterval: overload.sampleIntervalMs,
    retryAfter: overload.retryAfterSeconds,
    pressureHandler: (request, reply, type, value) => {
      if (isProbe(request)) return undefined; // handled as usual
      const now = Date.now();
      if (now - lastWarning > 5_000) {
        lastWarning = now;
        request.log.warn({ pressure: type, value }, "overloaded: answering 503 to new requests");
      }
      reply
        .header(REQUEST_ID_HEADER, request.id)
        .header("retry-after", String(overload.retryAfterSeconds));
      sendProblem(
        reply,
        unavailable(
          `The server is overloaded (${type}); retry after ${overload.retryAfterSeconds} s.`,
        ),
      );
      // Resolved with the reply sent: fastify runs no further hook and no handler.
      return Promise.resolve();
    },
  });
};

/**
 * The headers helmet's middleware sets, read off a stand-in response: its defaults, except that
 * a server reached over plain http must not ask browsers to upgrade /docs' asset requests to
 * https (they fail, the page stays blank) nor send HSTS; both only behind TLS (TRUST_PROXY_TLS).
 */
function helmetHeaders(behindTls: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  const options = behindTls
    ? {}
    : {
        contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
        strictTransportSecurity: false,
      };
  helmet(options)({} as never, response as never, () => {});
  return headers;
}

export const protectionPlugin = fp(protection, { name: "nnserve-protection", fastify: "5.x" });
