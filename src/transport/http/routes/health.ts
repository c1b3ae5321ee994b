/**
 * Probes. /healthz answers while the event loop runs (restart me if not); /readyz asks the
 * dependencies (route traffic to me only if ready) and answers 503 with the same body when not,
 * since an orchestrator reads the status and an operator reads the checks.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  livenessSchema,
  type ReadinessReport,
  readinessSchema,
} from "../../../platform/readiness-schema.ts";
import type { RouteOptions } from "./shared.ts";

export const healthRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { services }) => {
  app.get(
    "/healthz",
    {
      schema: {
        operationId: "healthz",
        tags: ["health"],
        summary: "Liveness: 200 while the process runs",
        response: { 200: livenessSchema },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        operationId: "readyz",
        tags: ["health"],
        summary: "Readiness: 200 when every dependency check passes, else 503",
        response: { 200: readinessSchema, 503: readinessSchema },
      },
    },
    async (request, reply) => {
      let report: ReadinessReport;
      try {
        report = await services.readiness.check();
      } catch (error) {
        request.log.error({ err: error }, "readiness check threw");
        report = { ready: false, checks: { readiness: { ok: false, detail: "check failed" } } };
      }
      reply.code(report.ready ? 200 : 503);
      return report;
    },
  );
};
