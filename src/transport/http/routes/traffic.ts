/**
 * A model's traffic (src/prediction/traffic): the canary split and shadow, and the per-version
 * figures of this replica. Writes need the deploy scope and are recorded in the history.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  clearTrafficQuerySchema,
  setTrafficBodySchema,
  trafficViewSchema,
} from "../../../prediction/traffic/schemas.ts";
import type { TrafficService } from "../../../prediction/traffic/service.ts";
import { modelParamsSchema } from "../../../versions/schemas.ts";
import { problems } from "./shared.ts";

export const trafficRoutes: FastifyPluginAsyncZod<{ traffic: TrafficService }> = async (
  app,
  { traffic },
) => {
  const tags = ["lifecycle"];

  app.get(
    "/models/:name/traffic",
    {
      schema: {
        operationId: "getTraffic",
        tags,
        summary:
          "The split and shadow, with this replica's figures per version (requests, errors, p50/p99 ms) and the shadow's agreement",
        params: modelParamsSchema,
        response: { 200: trafficViewSchema, ...problems(400, 404) },
      },
    },
    async (request) => traffic.get(request.params.name),
  );

  app.put(
    "/models/:name/traffic",
    {
      schema: {
        operationId: "setTraffic",
        tags,
        summary:
          "Split unpinned predictions between ready versions by weight (summing to 100), optionally sticky by routing key, with an optional shadow",
        params: modelParamsSchema,
        body: setTrafficBodySchema,
        response: { 200: trafficViewSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const { reason, ...body } = request.body;
      return traffic.set(request.params.name, body, {
        reason,
        actor: request.caller?.prefix ?? null,
      });
    },
  );

  app.delete(
    "/models/:name/traffic",
    {
      schema: {
        operationId: "clearTraffic",
        tags,
        summary: "Remove the split and shadow: back to the alias production, else the newest",
        params: modelParamsSchema,
        querystring: clearTrafficQuerySchema,
        response: { 204: z.undefined().describe("Removed"), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      await traffic.clear(request.params.name, {
        reason: request.query.reason,
        actor: request.caller?.prefix ?? null,
      });
      return reply.code(204).send();
    },
  );
};
