/**
 * The JSON columns of studies and study_trials, written with their format version and read
 * back through zod (src/platform/db/stored-json.ts), so a damaged or newer row is a clear error
 * naming the column, never a crash further on.
 *
 *   studies.request        { request (defaults filled), seed, shape } : what create accepted
 *   study_trials.params    the sampled parameters
 *   study_trials.results   { rungs: [{ rung, epochs, metric, version, versionId }] }
 *   study_trials.curve     { points: [{ epoch, loss, valLoss, ... }] }, every epoch trained
 */
import { z } from "zod";
import { storedColumn } from "../../platform/db/stored-json.ts";
import { createStudyRequestSchema, rungResultSchema, trialParamsSchema } from "./schemas.ts";

// A stored request was checked against the limits of its day; a lower limit since must not make
// it unreadable, so it is read back with none.
const UNBOUNDED = {
  maxEpochs: Number.MAX_SAFE_INTEGER,
  maxLayers: Number.MAX_SAFE_INTEGER,
  maxUnits: Number.MAX_SAFE_INTEGER,
  maxParameters: Number.MAX_SAFE_INTEGER,
  maxRows: Number.MAX_SAFE_INTEGER,
  maxPredictRows: Number.MAX_SAFE_INTEGER,
};

/** What trial requests need of the data, learned once at create (recipe.ts's DataShape). */
export const dataShapeSchema = z.object({
  rows: z.int().min(0),
  features: z.int().min(1),
  classes: z.int().min(0),
});
export type StoredDataShape = z.output<typeof dataShapeSchema>;

export const storedStudyRequest = storedColumn(
  z.object({
    request: createStudyRequestSchema(UNBOUNDED),
    seed: z.int().min(0),
    shape: dataShapeSchema,
  }),
);
export type StoredStudyRequest = z.output<typeof storedStudyRequest>;

export const storedTrialParams = storedColumn(trialParamsSchema);

export const rungRecordSchema = rungResultSchema.extend({
  /** The version row, to clear or delete it when the study ends; null once dropped. */
  versionId: z.string().nullable(),
});
export type RungRecord = z.output<typeof rungRecordSchema>;

export const storedTrialResults = storedColumn(z.object({ rungs: z.array(rungRecordSchema) }));

export const curvePointSchema = z.object({
  epoch: z.int(),
  loss: z.number().nullable(),
  valLoss: z.number().nullable(),
  accuracy: z.number().nullable(),
  valAccuracy: z.number().nullable(),
  mae: z.number().nullable(),
  valMae: z.number().nullable(),
});
export type CurvePoint = z.output<typeof curvePointSchema>;

export const storedTrialCurve = storedColumn(z.object({ points: z.array(curvePointSchema) }));
