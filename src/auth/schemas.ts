/** The admin API's bodies: create a key, and a key as listed (never its secret or hash). */
import { z } from "zod";
import { hasNul, NUL_MESSAGE } from "../platform/validation/common.ts";
import { SCOPES } from "./keys.ts";

export const createApiKeySchema = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .refine((name) => !hasNul(name), NUL_MESSAGE)
    .describe("What the key is for, e.g. 'ci' or 'web-app'"),
  scopes: z
    .array(z.enum(SCOPES))
    .min(1)
    .describe(
      "predict: /predict, /models, /v2; train: /train, /jobs; deploy: aliases, rollback, traffic; admin: everything",
    ),
});

export const apiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe("The key's public first part; names it in lists and logs"),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: "ApiKey" });

export const createdApiKeySchema = apiKeySchema
  .extend({ key: z.string().describe("The whole key: shown this once, never again") })
  .meta({ id: "CreatedApiKey" });

export const apiKeyListSchema = z
  .object({ items: z.array(apiKeySchema) })
  .meta({ id: "ApiKeyList" });
