/**
 * The JSON columns of model_versions besides `training` (stored-training.ts): what each holds
 * and the zod schema that reads it back (src/platform/db/stored-json.ts has the format version).
 *
 *   architecture    the engine's saved architecture (nnserve.network); its own `version` is
 *                   its format version, so it carries no `formatVersion`
 *   metrics         the last epoch's numbers (null when not finite)
 *   preprocessing   preprocessing/schema.ts, which has carried `formatVersion: 1` from the start
 *   evaluation      evaluation-schema.ts
 */
import { z } from "zod";
import {
  ACTIVATIONS,
  type ArchitectureJson,
  INITIALIZERS,
  NETWORK_FORMAT,
  NETWORK_FORMAT_VERSION,
} from "../engine/index.ts";
import { STORED_FORMAT_VERSION, storedColumn } from "../platform/db/stored-json.ts";
import { evaluationSchema } from "./evaluation-schema.ts";
import { preprocessingSchema } from "./preprocessing/schema.ts";

export const storedArchitectureColumn = z.object({
  format: z.literal(NETWORK_FORMAT).default(NETWORK_FORMAT),
  version: z.literal(NETWORK_FORMAT_VERSION).default(NETWORK_FORMAT_VERSION),
  inputs: z.int().min(1),
  layers: z
    .array(
      z.object({
        units: z.int().min(1),
        activation: z.enum(ACTIVATIONS),
        alpha: z.number().optional(),
        initializer: z.enum(INITIALIZERS).optional(),
      }),
    )
    .min(1),
}) satisfies z.ZodType<ArchitectureJson>;

/** A metric is null when it was not finite; the job's row holds the same shape. */
export const storedMetricsColumn = storedColumn(z.record(z.string(), z.number().nullable()));

export const storedEvaluationColumn = storedColumn(evaluationSchema);

/** preprocessingSchema requires its formatVersion; a row without one reads as version 1. */
export const storedPreprocessingColumn = z.preprocess(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !("formatVersion" in value)
      ? { ...value, formatVersion: STORED_FORMAT_VERSION }
      : value,
  preprocessingSchema,
);

/**
 * A model's traffic split (`traffic_splits.split`): the versions and their whole-number weights.
 * Here rather than with the traffic feature, because deleting a version (versions/aliases) reads
 * it too. An array, so it carries no format version: a changed shape would get a new column.
 */
export const storedSplitColumn = z.array(z.object({ version: z.int(), weight: z.int() }));
