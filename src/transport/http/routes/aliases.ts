/**
 * Aliases, rollback and history of a model (src/versions/aliases). Writes need the deploy scope
 * (src/auth/scopes.ts) and record the caller's key prefix in the history.
 */
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  aliasListSchema,
  aliasParamsSchema,
  aliasViewSchema,
  deleteVersionQuerySchema,
  historyPageSchema,
  historyQuerySchema,
  removeAliasQuerySchema,
  rollbackBodySchema,
  setAliasBodySchema,
} from "../../../versions/aliases/schemas.ts";
import type { AliasService } from "../../../versions/aliases/service.ts";
import { modelVersionParamsSchema } from "../../../versions/model-file-schema.ts";
import { modelParamsSchema } from "../../../versions/schemas.ts";
import { problems } from "./shared.ts";

type RouteApp = Parameters<FastifyPluginAsyncZod>[0];

const tags = ["lifecycle"];

/** Who made a change, as the history records it: the API key's prefix, null without a key. */
const actorOf = (request: FastifyRequest) => request.caller?.prefix ?? null;

export const aliasRoutes: FastifyPluginAsyncZod<{ aliases: AliasService }> = async (
  app,
  { aliases },
) => {
  // In this order: it is the order of the OpenAPI document's paths.
  aliasSetRoutes(app, aliases);
  rollbackRoute(app, aliases);
  versionRoutes(app, aliases);
};

/** List, set (or move) and remove a model's aliases. */
function aliasSetRoutes(app: RouteApp, aliases: AliasService): void {
  app.get(
    "/models/:name/aliases",
    {
      schema: {
        operationId: "listAliases",
        tags,
        summary: "The model's aliases and the version each points at",
        params: modelParamsSchema,
        response: { 200: aliasListSchema, ...problems(400, 404) },
      },
    },
    async (request) => ({ aliases: await aliases.list(request.params.name) }),
  );

  app.put(
    "/models/:name/aliases/:alias",
    {
      schema: {
        operationId: "setAlias",
        tags,
        summary: "Point an alias at a ready version (set or move it); recorded in the history",
        params: aliasParamsSchema,
        body: setAliasBodySchema,
        response: { 200: aliasViewSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const { name, alias } = request.params;
      const { version, reason } = request.body;
      return aliases.set(name, alias, version, { reason, actor: actorOf(request) });
    },
  );

  app.delete(
    "/models/:name/aliases/:alias",
    {
      schema: {
        operationId: "removeAlias",
        tags,
        summary: "Remove an alias; recorded in the history (`?reason=` says why)",
        params: aliasParamsSchema,
        querystring: removeAliasQuerySchema,
        response: { 204: z.undefined().describe("Removed"), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const { name, alias } = request.params;
      await aliases.remove(name, alias, {
        reason: request.query.reason,
        actor: actorOf(request),
      });
      return reply.code(204).send();
    },
  );
}

function rollbackRoute(app: RouteApp, aliases: AliasService): void {
  app.post(
    "/models/:name/rollback",
    {
      schema: {
        operationId: "rollback",
        tags,
        summary:
          "Put an alias (default production) back on the version it held before its latest move",
        params: modelParamsSchema,
        body: rollbackBodySchema,
        response: { 200: aliasViewSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) =>
      aliases.rollback(request.params.name, request.body.alias, {
        reason: request.body.reason,
        actor: actorOf(request),
      }),
  );
}

/** Deleting a version (refused while it serves) and the model's history of what served when. */
function versionRoutes(app: RouteApp, aliases: AliasService): void {
  app.delete(
    "/models/:name/versions/:version",
    {
      schema: {
        operationId: "deleteVersion",
        tags,
        summary:
          "Delete one version (its job and metrics go too); refused while an alias or the split uses it, unless ?force=true",
        params: modelVersionParamsSchema,
        querystring: deleteVersionQuerySchema,
        response: { 204: z.undefined().describe("Deleted"), ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { name, version } = request.params;
      await aliases.deleteVersion(name, version, {
        force: request.query.force,
        reason: request.query.reason,
        actor: actorOf(request),
      });
      return reply.code(204).send();
    },
  );

  app.get(
    "/models/:name/history",
    {
      schema: {
        operationId: "modelHistory",
        tags,
        summary:
          "What served when, newest first: versions created and deleted, alias moves, rollbacks, traffic changes; kept after the model is deleted",
        params: modelParamsSchema,
        querystring: historyQuerySchema,
        response: { 200: historyPageSchema, ...problems(400, 404) },
      },
    },
    async (request) => aliases.history(request.params.name, request.query),
  );
}
