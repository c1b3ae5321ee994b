/** Training jobs: list, inspect, follow metrics, cancel. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  jobListQuerySchema,
  jobMetricsSchema,
  jobPageSchema,
  jobParamsSchema,
  jobSchema,
} from "../../../training/jobs/schemas.ts";
import { problems, type RouteOptions } from "./shared.ts";

export const jobRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { services }) => {
  const training = services.training;

  app.get(
    "/jobs",
    {
      schema: {
        operationId: "listJobs",
        tags: ["training"],
        summary: "List jobs, newest first, optionally by status and model",
        querystring: jobListQuerySchema,
        response: { 200: jobPageSchema, ...problems(400) },
      },
    },
    async (request) => training.listJobs(request.query),
  );

  app.get(
    "/jobs/:id",
    {
      schema: {
        operationId: "getJob",
        tags: ["training"],
        summary: "A job's status, progress and latest metrics",
        params: jobParamsSchema,
        response: { 200: jobSchema, ...problems(400, 404) },
      },
    },
    async (request) => training.getJob(request.params.id),
  );

  app.get(
    "/jobs/:id/metrics",
    {
      schema: {
        operationId: "getJobMetrics",
        tags: ["training"],
        summary: "The metrics of every finished epoch",
        params: jobParamsSchema,
        response: { 200: jobMetricsSchema, ...problems(400, 404) },
      },
    },
    async (request) => training.jobMetrics(request.params.id),
  );

  app.post(
    "/jobs/:id/cancel",
    {
      schema: {
        operationId: "cancelJob",
        tags: ["training"],
        summary: "Cancel a queued or running job (a running one stops at its next epoch)",
        params: jobParamsSchema,
        response: { 202: jobSchema, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const job = await training.cancel(request.params.id);
      reply.code(202);
      return job;
    },
  );
};
