/**
 * Aliases and history on the wire: the zod schemas REST routes and gRPC handlers share. An alias
 * name follows the model-name rule (it goes into URLs: no slash) and is not all digits, so the
 * Open Inference Protocol's version string (`versions/3` or `versions/staging`) is never
 * ambiguous.
 */
import { z } from "zod";
import {
  isoDateTime,
  MODEL_NAME,
  modelName,
  modelVersion,
  strictObject,
} from "../../platform/validation/common.ts";

const ALIAS_MESSAGE =
  "must be 1-64 characters of lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, and not all digits";

export const aliasName = z
  .string()
  .refine((value) => MODEL_NAME.test(value) && !/^\d+$/.test(value), ALIAS_MESSAGE)
  .meta({ example: "production" });

/** The alias every unpinned prediction follows when no split is set. */
export const PRODUCTION = "production";

/** Why a change was made, kept in the history. */
export const reason = z.string().max(500, "must be at most 500 characters").optional();

export const aliasParamsSchema = strictObject({ name: modelName, alias: aliasName });
export const setAliasBodySchema = strictObject({ version: modelVersion, reason });
export const removeAliasQuerySchema = strictObject({ reason });
export const deleteVersionQuerySchema = strictObject({
  force: z
    .enum(["true", "false"], "must be true or false")
    .default("false")
    .transform((value) => value === "true")
    .describe("true: also remove the aliases and the traffic split that use the version"),
  reason,
});
export const rollbackBodySchema = strictObject({ alias: aliasName.default(PRODUCTION), reason });

export const aliasViewSchema = z
  .object({
    alias: z.string(),
    version: z.int(),
    updatedAt: isoDateTime,
    /** The API key's prefix; null with AUTH off. */
    updatedBy: z.string().nullable(),
  })
  .meta({ id: "ModelAlias" });
export type AliasView = z.output<typeof aliasViewSchema>;
export const aliasListSchema = z
  .object({ aliases: z.array(aliasViewSchema) })
  .meta({ id: "ModelAliasList" });

export const EVENT_KINDS = [
  "version_created",
  "version_deleted",
  "alias_set",
  "alias_moved",
  "alias_removed",
  "rollback",
  "traffic_set",
  "traffic_cleared",
  "model_deleted",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const modelEventSchema = z
  .object({
    /** Increasing; newest first in a page. */
    id: z.string(),
    kind: z.enum(EVENT_KINDS),
    at: isoDateTime,
    alias: z.string().nullable(),
    /** The version before (an alias move, a rollback) or the version concerned (created, deleted). */
    fromVersion: z.int().nullable(),
    toVersion: z.int().nullable(),
    /** The training job that created the version (version_created). */
    jobId: z.string().nullable(),
    /** traffic_set: the split and shadow set. */
    detail: z.unknown().nullable(),
    reason: z.string().nullable(),
    /** The API key's prefix; null with AUTH off. */
    actor: z.string().nullable(),
  })
  .meta({ id: "ModelEvent" });
export type ModelEventView = z.output<typeof modelEventSchema>;

export const historyQuerySchema = strictObject({
  limit: z.coerce.number().int().min(1, "must be 1-200").max(200, "must be 1-200").default(50),
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, "must be a nextCursor from an earlier page")
    .optional(),
});
export type HistoryQuery = z.output<typeof historyQuerySchema>;

export const historyPageSchema = z
  .object({ events: z.array(modelEventSchema), nextCursor: z.string().nullable() })
  .meta({ id: "ModelHistory" });
export type HistoryPage = z.output<typeof historyPageSchema>;

/** Who made a change: an API key's prefix, or null with AUTH off. */
export type Actor = string | null;
