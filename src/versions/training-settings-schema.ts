/**
 * The training settings a request gives and a version records: optimizer (with the engine's
 * default learning rates and its schedules), early stopping and class weights. The train request (src/training/request.ts) and
 * the stored `training` column (stored-training.ts) share them, so they live with the version.
 */
import { z } from "zod";
import { DEFAULT_LEARNING_RATES } from "../engine/index.ts";
import { finite, strictObject } from "../platform/validation/common.ts";

const positive = (what = "must be greater than 0") => finite().positive(what);
const fraction = (what: string) =>
  finite().min(0, `must be in [0, 1) (${what})`).lt(1, `must be in [0, 1) (${what})`);

const decayRate = () => finite().gt(0, "must be in (0, 1]").max(1, "must be in (0, 1]");
const warmup = (unit: string) =>
  z
    .int("must be a whole number >= 0")
    .min(0, "must be a whole number >= 0")
    .describe(`Linear warmup to the learning rate first, in ${unit}; must end before the run`);
const scheduleUnit = z
  .enum(["epochs", "steps"])
  .describe("What warmup and the schedule count: epochs (default) or mini-batch steps");

/** Learning-rate schedules (src/engine/schedules.ts has the formulas). */
const decaySchema = z.discriminatedUnion(
  "type",
  [
    strictObject({
      type: z.literal("step"),
      rate: decayRate(),
      everyEpochs: z.int().min(1, "must be a whole number >= 1"),
      warmup: warmup("epochs").optional(),
    }),
    strictObject({
      type: z.literal("exponential"),
      rate: decayRate(),
      warmup: warmup("epochs").optional(),
    }),
    strictObject({
      type: z.literal("cosine"),
      unit: scheduleUnit.optional(),
      warmup: warmup("the unit").optional(),
      minLearningRate: finite().min(0, "must be >= 0").optional(),
    }),
    strictObject({
      type: z.literal("oneCycle"),
      unit: scheduleUnit.optional(),
      warmup: warmup("the unit (default 30% of the run)").optional(),
      divFactor: finite().min(1, "must be >= 1").optional(),
      finalDivFactor: finite().min(1, "must be >= 1").optional(),
    }),
  ],
  { error: () => 'must be "step", "exponential", "cosine" or "oneCycle"' },
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
    // AdamW: weightDecay is decoupled (w ← w·(1 − lr·wd) each step, default 0.01); on the
    // others it is the L2 penalty added to the gradient.
    strictObject({
      name: z.literal("adamw"),
      ...common(DEFAULT_LEARNING_RATES.adamw),
      beta1: fraction("first-moment decay").optional(),
      beta2: fraction("second-moment decay").optional(),
      epsilon: positive().optional(),
    }),
  ],
  { error: () => 'must be one of "sgd", "momentum", "rmsprop", "adam", "adamw"' },
);

/**
 * Cross-entropies only: "balanced" (n / (classes · n_class), scikit-learn's rule, from the
 * training rows) or a weight per class, keyed by class index (inline data) or by label (a
 * dataset's target); a class left out weighs 1.
 */
export const classWeightsSchema = z.union(
  [
    z.literal("balanced"),
    z.record(z.string().min(1, "must name a class"), finite().min(0, "must be >= 0")),
  ],
  { error: () => 'must be "balanced" or an object of weights by class' },
);
export type ClassWeightsRequest = z.output<typeof classWeightsSchema>;

export const earlyStoppingSchema = strictObject({
  monitor: z.enum(["loss", "valLoss", "accuracy", "valAccuracy"]).optional(),
  patience: z.int().min(1, "must be a whole number >= 1"),
  minDelta: finite().min(0, "must be >= 0").optional(),
  restoreBestWeights: z.boolean().optional(),
});
