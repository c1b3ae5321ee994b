/**
 * Trained models: a name with numbered versions, one version per training job. Predict uses the
 * newest ready version unless asked for another.
 */
import { z } from "zod";
import { ACTIVATIONS, INITIALIZERS, LOSSES } from "../engine/spec.ts";
import { isoDateTime, modelName, strictObject } from "../platform/validation/common.ts";
import { evaluationSchema } from "./evaluation-schema.ts";
import { epochMetricsSchema } from "./metrics-view.ts";
import { preprocessingSchema } from "./preprocessing/schema.ts";

/** pending (queued) -> training -> ready | failed | cancelled; only ready versions predict. */
export const VERSION_STATUSES = ["pending", "training", "ready", "failed", "cancelled"] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export const modelParamsSchema = strictObject({ name: modelName });

export const networkViewSchema = z.object({
  inputs: z.int(),
  /** Training-time dropout of the inputs. */
  inputDropout: z.number().optional(),
  layers: z.array(
    z.object({
      units: z.int(),
      activation: z.enum(ACTIVATIONS),
      alpha: z.number().optional(),
      initializer: z.enum(INITIALIZERS).optional(),
      /** Training-time dropout of this layer's outputs. */
      dropout: z.number().optional(),
    }),
  ),
});

export const versionTrainingSchema = z
  .object({
    optimizer: z.object({ name: z.string(), learningRate: z.number().optional() }).loose(),
    epochs: z.int(),
    batchSize: z.int(),
    validationSplit: z.number(),
    earlyStopping: z.object({ patience: z.int() }).loose().optional(),
    /** Trained from a dataset: which (it may since have been deleted) and the share held back. */
    dataset: z.object({ id: z.string(), testSplit: z.number() }).optional(),
    /** Epochs run; null until ready (and for an imported version). */
    epochsRun: z.int().nullable(),
    /** Early stopping ended the run before its epochs. */
    stoppedEarly: z.boolean(),
    /** The best epoch early stopping saw (its weights, with restoreBestWeights); null without. */
    bestEpoch: z.int().nullable(),
    /** A warm start: the version it continued, and the epochs that version's weights had. */
    from: z
      .object({
        model: z.string(),
        version: z.int(),
        initialEpoch: z.int(),
        optimizerStateRestored: z.boolean(),
      })
      .nullable(),
  })
  .meta({ id: "VersionTraining" });

export const modelVersionSchema = z
  .object({
    version: z.int(),
    /** The job that trained it; null for a version imported from a model file. */
    jobId: z.uuid().nullable(),
    status: z.enum(VERSION_STATUSES),
    network: networkViewSchema,
    loss: z.enum(LOSSES),
    parameters: z.int(),
    /** The seed actually used, so the version can be trained again bit for bit. */
    seed: z.int(),
    /** Final metrics; null until the version is ready. */
    metrics: epochMetricsSchema.nullable(),
    /** How raw rows are encoded and outputs decoded; null for a version trained on inline numbers. */
    preprocessing: preprocessingSchema.nullable(),
    /** Scores on the dataset's held-back test rows; null until ready, or without test rows. */
    evaluation: evaluationSchema.nullable(),
    /**
     * The settings it was trained with (optimizer, epochs, batch size, splits, early stopping,
     * the dataset it came from), as stored with it; what a comparison of versions diffs.
     */
    training: versionTrainingSchema,
    /**
     * The study that trained it while it is one of the study's candidates (never served as the
     * newest ready version; pin it or give it an alias); null for any other version, a study's
     * winner included.
     */
    study: z.uuid().nullable(),
    createdAt: isoDateTime,
    trainedAt: isoDateTime.nullable(),
  })
  .meta({ id: "ModelVersion" });
export type ModelVersion = z.output<typeof modelVersionSchema>;

export const modelSummarySchema = z
  .object({
    name: z.string(),
    /** Newest ready version, what predict uses by default; null if none is ready yet. */
    latestVersion: z.int().nullable(),
    versionCount: z.int(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: "ModelSummary" });
export type ModelSummary = z.output<typeof modelSummarySchema>;

export const modelSchema = modelSummarySchema
  .extend({ versions: z.array(modelVersionSchema) })
  .meta({ id: "Model" });
export type Model = z.output<typeof modelSchema>;

export const modelListSchema = z
  .object({ items: z.array(modelSummarySchema) })
  .meta({ id: "ModelList" });
export type ModelList = z.output<typeof modelListSchema>;
