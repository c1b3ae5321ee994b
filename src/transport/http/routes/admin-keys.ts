/** POST/GET/DELETE /admin/keys: API keys, for callers with the admin scope (plugins/auth.ts). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { KeyStore } from "../../../auth/key-store.ts";
import {
  apiKeyListSchema,
  apiKeySchema,
  createApiKeySchema,
  createdApiKeySchema,
} from "../../../auth/schemas.ts";
import { problems } from "./shared.ts";

export const adminKeyRoutes: FastifyPluginAsyncZod<{ keys: KeyStore }> = async (app, { keys }) => {
  app.post(
    "/admin/keys",
    {
      schema: {
        operationId: "createApiKey",
        tags: ["admin"],
        summary: "Create an API key; the key is in this answer only",
        body: createApiKeySchema,
        response: { 201: createdApiKeySchema, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { key, apiKey } = await keys.create(request.body);
      request.log.info({ apiKey: apiKey.prefix, scopes: apiKey.scopes }, "API key created");
      reply.code(201);
      return { ...apiKey, key };
    },
  );

  app.get(
    "/admin/keys",
    {
      schema: {
        operationId: "listApiKeys",
        tags: ["admin"],
        summary: "Every API key, revoked ones included (no secrets)",
        response: { 200: apiKeyListSchema, ...problems(401, 403) },
      },
    },
    async () => ({ items: await keys.list() }),
  );

  app.delete(
    "/admin/keys/:id",
    {
      schema: {
        operationId: "revokeApiKey",
        tags: ["admin"],
        summary: "Revoke an API key, by id or prefix",
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 200: apiKeySchema, ...problems(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const revoked = await keys.revoke(request.params.id);
      request.log.info({ apiKey: revoked.prefix }, "API key revoked");
      return revoked;
    },
  );
};
