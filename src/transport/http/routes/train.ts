/** POST /train: queue a training job; Idempotency-Key makes a retried submit safe. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { idempotencyKeySchema, trainAcceptedSchema } from "../../../training/request.ts";
import { problems, type RouteOptions } from "./shared.ts";

const headers = z.looseObject({
  "idempotency-key": idempotencyKeySchema
    .optional()
    .describe("Retrying with the same key returns the first job (200) instead of a new one"),
});

export const trainRoutes: FastifyPluginAsyncZod<RouteOptions> = async (
  app,
  { services, schemas },
) => {
  app.post(
    "/train",
    {
      schema: {
        operationId: "train",
        tags: ["training"],
        summary: "Queue a training job for the next version of a model",
        headers,
        body: schemas.trainRequest,
        response: {
          200: trainAcceptedSchema.describe("The job first created with this Idempotency-Key"),
          202: trainAcceptedSchema.describe("Queued; follow it at the Location URL"),
          ...problems(400, 413, 415, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const idempotencyKey = request.headers["idempotency-key"];
      // With AUTH on, the job is linked to the caller's key and counted against its job limit
      // (429 past it) in the transaction that creates it.
      const { job, created } = await services.training.submit(request.body, {
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        ...(request.caller ? { submitter: request.caller } : {}),
      });
      reply.code(created ? 202 : 200).header("location", `/jobs/${job.id}`);
      return { jobId: job.id, model: job.model, version: job.version, status: job.status };
    },
  );
};
