/**
 * The training settings a request gives and a version records: optimizer (with the engine's
 * default learning rates) and early stopping. The train request (src/training/request.ts) and
 * the stored `training` column (stored-training.ts) share them, so they live with the version.
 */
import { z } from "zod";
import { DEFAULT_LEARNING_RATES } from "../engine/index.ts";
import { finite, strictObject } from "../platform/validation/common.ts";

const positive = (what = "must be greater than 0") => finite().positive(what);
const fraction = (what: string) =>
  finite().min(0, `must be in [0, 1) (${what})`).lt(1, `must be in [0, 1) (${what})`);

const decaySchema = z.discriminatedUnion(
  "type",
  [
    strictObject({
      type: z.literal("step"),
      rate: finite().gt(0, "must be in (0, 1]").max(1, "must be in (0, 1]"),
      everyEpochs: z.int().min(1, "must be a whole number >= 1"),
    }),
    strictObject({
      type: z.literal("exponential"),
      rate: finite().gt(0, "must be in (0, 1]").max(1, "must be in (0, 1]"),
    }),
  ],
  { error: () => 'must be "step" or "exponential"' },
);

/** What every optimizer accepts; the learning-rate default is the engine's (PyTorch's). */
const common = (learningRate: number) => ({
  learningRate: positive().default(learningRate),
  weightDecay: finite().min(0, "must be >= 0").optional(),
  clipNorm: positive().optional(),
  decay: decaySchema.optional(),
});

// One branch per optimizer, so `beta1` on sgd is an unknown field rather than silently ignored.
export const optimizerSchema = z.discriminatedUnion(
  "name",
  [
    strictObject({ name: z.literal("sgd"), ...common(DEFAULT_LEARNING_RATES.sgd) }),
    strictObject({
      name: z.literal("momentum"),
      ...common(DEFAULT_LEARNING_RATES.momentum),
      momentum: fraction("velocity decay").optional(),
      nesterov: z.boolean().optional(),
    }),
    strictObject({
      name: z.literal("rmsprop"),
      ...common(DEFAULT_LEARNING_RATES.rmsprop),
      rho: fraction("squared-gradient decay").optional(),
      epsilon: positive().optional(),
    }),
    strictObject({
      name: z.literal("adam"),
      ...common(DEFAULT_LEARNING_RATES.adam),
      beta1: fraction("first-moment decay").optional(),
      beta2: fraction("second-moment decay").optional(),
      epsilon: positive().optional(),
    }),
  ],
  { error: () => 'must be one of "sgd", "momentum", "rmsprop", "adam"' },
);

export const earlyStoppingSchema = strictObject({
  monitor: z.enum(["loss", "valLoss", "accuracy", "valAccuracy"]).optional(),
  patience: z.int().min(1, "must be a whole number >= 1"),
  minDelta: finite().min(0, "must be >= 0").optional(),
  restoreBestWeights: z.boolean().optional(),
});
