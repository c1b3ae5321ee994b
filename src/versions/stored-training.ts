/**
 * What a model version records about how it is trained, in its `training` JSON column: the
 * settings the worker runs with, defaults filled in and the seed fixed, so that the same
 * version can be trained again bit for bit. The schema reads the column back (a row without
 * `formatVersion` is version 1) and checks the `training` of an imported model file.
 */
import { z } from "zod";
import { LOSSES } from "../engine/index.ts";
import { storedColumn } from "../platform/db/stored-json.ts";
import type { TrainingSettings } from "../platform/threads/tasks.ts";
import {
  type ClassWeightsRequest,
  classWeightsSchema,
  earlyStoppingSchema,
  optimizerSchema,
} from "./training-settings-schema.ts";

export interface StoredTraining extends TrainingSettings {
  /** The data came as class indices (sparse labels), so predictions report classes. */
  labels: boolean;
  /**
   * Trained from a dataset: which, and the share of its rows held back (the seed picks them),
   * so the split can be made again. The rest is in the version's preprocessing.
   */
  dataset?: { id: string; testSplit: number };
  /** As the request gave them ("balanced" or by class); the values used are `classWeights`. */
  classWeighting?: ClassWeightsRequest;
  /**
   * A continued run (warm start): the version it started from and the epochs its weights had;
   * this version's weights have initialEpoch + its own epochs.
   */
  from?: { model: string; version: number; initialEpoch: number; optimizerState: boolean };
}

const rate = z.number().min(0).lt(1);

/**
 * Loose: a key a later nnserve records survives the trip through a model file, and an older
 * row without a key added since still reads.
 */
export const storedTrainingSchema = z.looseObject({
  loss: z.enum(LOSSES),
  optimizer: optimizerSchema,
  epochs: z.int().min(1),
  batchSize: z.int().min(1),
  shuffle: z.boolean(),
  seed: z.int().min(0),
  validationSplit: z.number().min(0).lt(1),
  earlyStopping: earlyStoppingSchema.optional(),
  /** Training-time dropout of the inputs and of each layer's outputs. */
  dropout: z.object({ inputs: rate.optional(), layers: z.array(rate).optional() }).optional(),
  labelSmoothing: rate.optional(),
  /** The weight of each class, in class-index order. */
  classWeights: z.array(z.number().min(0)).optional(),
  classWeighting: classWeightsSchema.optional(),
  from: z
    .object({
      model: z.string(),
      version: z.int().min(1),
      initialEpoch: z.int().min(0),
      optimizerState: z.boolean(),
    })
    .optional(),
  storeOptimizerState: z.boolean().optional(),
  /** The data came as class indices, so predictions report classes. */
  labels: z.boolean(),
  dataset: z.object({ id: z.string(), testSplit: z.number().min(0).lt(1) }).optional(),
});

/** The `training` column of model_versions. */
export const storedTrainingColumn = storedColumn(storedTrainingSchema);
