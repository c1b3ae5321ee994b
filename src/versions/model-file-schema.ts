/**
 * nnserve's portable model file: one JSON document with everything a version is, so it moves
 * between installations (GET /models/{name}/versions/{version}/export, POST /models/{name}/import,
 * and the gRPC ExportModel/ImportModel calls). The weights are the engine's little-endian float32
 * buffer (src/engine/serialize.ts order) in base64, with its sha256 so a file damaged on the way
 * is refused rather than served. The architecture is checked by the engine itself on import
 * (every layer field, the parameter count); this schema checks the shape of the rest.
 */
import { z } from "zod";
import {
  isoDateTime,
  MAX_MODEL_VERSION,
  modelName,
  modelVersion,
  strictObject,
} from "../platform/validation/common.ts";
import { evaluationSchema } from "./evaluation-schema.ts";
import { preprocessingSchema } from "./preprocessing/schema.ts";
import { storedTrainingSchema } from "./stored-training.ts";

export const MODEL_FILE_FORMAT = "nnserve.model";
export const MODEL_FILE_VERSION = 1;
export const WEIGHTS_ENCODING = "float32le-base64";

export const modelVersionParamsSchema = strictObject({
  name: modelName,
  version: z.coerce
    .number("must be a whole number >= 1")
    .int("must be a whole number >= 1")
    .min(1, "must be a whole number >= 1")
    .max(MAX_MODEL_VERSION, `must be a whole number from 1 to ${MAX_MODEL_VERSION}`),
});

/** A metric is null when it was not finite. */
export const metricsSchema = z.record(z.string(), z.number().nullable());

export const modelFileSchema = strictObject({
  format: z.literal(MODEL_FILE_FORMAT, `must be "${MODEL_FILE_FORMAT}"`),
  formatVersion: z.literal(
    MODEL_FILE_VERSION,
    `unsupported version; this server reads version ${MODEL_FILE_VERSION}`,
  ),
  /** The nnserve that wrote the file. */
  nnserveVersion: z.string().optional(),
  exportedAt: isoDateTime.optional(),
  /** Where the file came from; the import takes the name from its URL. */
  source: z.object({ model: modelName, version: modelVersion }).optional(),
  /** The engine's saved architecture (nnserve.network, version 1); checked by the engine. */
  architecture: z.record(z.string(), z.unknown()),
  training: storedTrainingSchema,
  preprocessing: preprocessingSchema.nullable(),
  evaluation: evaluationSchema.nullable(),
  metrics: metricsSchema.nullable(),
  weights: z.object({
    encoding: z.literal(WEIGHTS_ENCODING, `must be "${WEIGHTS_ENCODING}"`),
    parameterCount: z.int().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex digits"),
    data: z.base64("must be base64"),
  }),
  createdAt: isoDateTime.optional(),
  trainedAt: isoDateTime.nullable().optional(),
}).meta({ id: "ModelFile" });
export type ModelFile = z.output<typeof modelFileSchema>;
