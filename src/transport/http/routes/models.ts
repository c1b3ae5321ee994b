/** Trained models and their versions. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { modelListSchema, modelParamsSchema, modelSchema } from "../../../versions/schemas.ts";
import { problems, type RouteOptions } from "./shared.ts";

export const modelRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { services }) => {
  const models = services.models;

  app.get(
    "/models",
    {
      schema: {
        operationId: "listModels",
        tags: ["models"],
        summary: "Every model with its newest ready version",
        response: { 200: modelListSchema },
      },
    },
    async () => models.list(),
  );

  app.get(
    "/models/:name",
    {
      schema: {
        operationId: "getModel",
        tags: ["models"],
        summary: "A model with all its versions",
        params: modelParamsSchema,
        response: { 200: modelSchema, ...problems(400, 404) },
      },
    },
    async (request) => models.get(request.params.name),
  );

  app.delete(
    "/models/:name",
    {
      schema: {
        operationId: "deleteModel",
        tags: ["models"],
        summary: "Delete a model, its versions, jobs and metrics",
        params: modelParamsSchema,
        response: { 204: z.undefined().describe("Deleted"), ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      await models.delete(request.params.name, request.caller?.prefix ?? null);
      return reply.code(204).send();
    },
  );
};
