/**
 * Batch scoring over a stored dataset: the request (POST /models/{name}/batch-predictions and
 * gRPC StartBatchPrediction), the job as clients see it, and what is stored of the request on
 * the job's row so that any replica can run it.
 */
import { z } from "zod";
import {
  isoDateTime,
  modelName,
  modelVersion,
  strictObject,
  uuid,
} from "../../platform/validation/common.ts";
import { aliasName } from "../../versions/aliases/schemas.ts";

/** At most this many passthrough columns: each is copied into every result row. */
export const MAX_PASSTHROUGH = 32;

export const batchPredictionRequestSchema = strictObject({
  /** The stored dataset to score (POST /datasets uploads one). */
  dataset: uuid,
  /** Omit for the alias production's version, else the newest ready one. */
  version: modelVersion.optional(),
  /** Score with the version this alias names instead (not with `version`). */
  alias: aliasName.optional(),
  /** Dataset columns copied into each result row, before the prediction (ids, the target). */
  passthrough: z.array(z.string().min(1)).max(MAX_PASSTHROUGH).default([]),
  /** Dataset columns that are neither features nor passthrough are skipped instead of refused. */
  ignoreExtraColumns: z.boolean().default(false),
  /**
   * Each row also gets `attributions` (integrated gradients from the training means and modes,
   * as `"explain": true` on /predict); many times slower than scoring alone.
   */
  explain: z.boolean().default(false),
}).meta({ id: "BatchPredictionRequest" });
export type BatchPredictionRequest = z.output<typeof batchPredictionRequestSchema>;

export const batchModelParamsSchema = strictObject({ name: modelName });
export const batchParamsSchema = strictObject({ id: uuid });

export const BATCH_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

export const batchPredictionSchema = z
  .object({
    id: z.string(),
    model: z.string(),
    version: z.int(),
    /** Null once the dataset was deleted. */
    dataset: z.string().nullable(),
    status: z.enum(BATCH_STATUSES),
    rowsDone: z.int(),
    totalRows: z.int(),
    /** Rows per chunk: progress and resumption move a chunk at a time. */
    chunkRows: z.int(),
    attempts: z.int(),
    passthrough: z.array(z.string()),
    error: z.string().nullable(),
    createdAt: isoDateTime,
    startedAt: isoDateTime.nullable(),
    finishedAt: isoDateTime.nullable(),
    /** Where the results are read once the job succeeded. */
    results: z.string(),
  })
  .meta({ id: "BatchPrediction" });
export type BatchPrediction = z.output<typeof batchPredictionSchema>;

/**
 * The request as the runner needs it, stored as JSON on the job's row: the dataset's column
 * positions are resolved at submission, so a chunk reads only the columns it uses.
 */
export const storedBatchRequestSchema = z.object({
  formatVersion: z.literal(1),
  /** Dataset column positions of the model's features, in the model's feature order. */
  features: z.array(z.object({ name: z.string(), position: z.int() })),
  passthrough: z.array(z.object({ name: z.string(), position: z.int() })),
  /** Whether the version has preprocessing: rows are then passed by feature name. */
  named: z.boolean(),
  explain: z.boolean().default(false),
});
export type StoredBatchRequest = z.output<typeof storedBatchRequestSchema>;
