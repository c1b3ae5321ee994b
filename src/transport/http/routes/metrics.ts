/**
 * GET /metrics in the Prometheus text format, and the hook that counts and times every HTTP
 * request by route pattern (never the raw URL: ids in paths would explode the label set).
 * Registered through fastify-plugin so the hook sees the routes of the whole app.
 */
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type { Metrics } from "../../../platform/metrics.ts";

export interface MetricsRouteOptions {
  metrics: Metrics;
}

/** Requests no route matched share one label value. */
export const UNMATCHED_ROUTE = "unmatched";

const metricsRoutes: FastifyPluginAsync<MetricsRouteOptions> = async (app, { metrics }) => {
  app.addHook("onResponse", async (request, reply) => {
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    metrics.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  app.get(
    "/metrics",
    {
      schema: {
        operationId: "metrics",
        tags: ["health"],
        summary: "Prometheus metrics of this instance (text exposition format)",
      },
    },
    async (_request, reply) => {
      reply.type(metrics.contentType);
      return metrics.scrape();
    },
  );
};

export const metricsPlugin = fp(metricsRoutes, { name: "nnserve-metrics", fastify: "5.x" });
