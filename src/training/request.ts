/**
 * POST /train (and the gRPC Train call): the network, loss, optimizer, training settings and
 * data of one training job. Every rule the engine would otherwise trip over is checked here,
 * with the path of the offending field, so a bad request fails in milliseconds instead of as a
 * failed job minutes later.
 *
 * Which data goes with which loss (the output is the last layer):
 *   mse, mae                        targets, width = output units; any output activation
 *   binaryCrossentropy              sigmoid output (1..n units); targets in [0, 1], width = units,
 *                                   or labels: in {0, 1} for 1 unit, in [0, units) for more
 *                                   (one-vs-rest, one-hot encoded when stored)
 *   categoricalCrossentropy         softmax output (>= 2 units); targets in [0, 1], width = units,
 *                                   or labels in [0, units) (one-hot encoded when stored), as
 *                                   PyTorch's CrossEntropyLoss and scikit-learn take them
 *   sparseCategoricalCrossentropy   softmax output (>= 2 units); labels in [0, units)
 */
import { z } from "zod";
import {
  ACTIVATIONS,
  type ActivationName,
  countParameters,
  DEFAULT_LEARNING_RATES,
  DEFAULT_OPTIMIZER,
  INITIALIZERS,
  LOSSES,
  type LossName,
  lossOutputProblem,
  MAX_BATCH_SIZE,
} from "../engine/index.ts";
import {
  count,
  finite,
  matrix,
  modelName,
  type RequestLimits,
  rowReporter,
  strictObject,
  uuid,
} from "../platform/validation/common.ts";
import { NUMERIC_SCALINGS, UNKNOWN_CATEGORY_POLICIES } from "../versions/preprocessing/schema.ts";
import { earlyStoppingSchema, optimizerSchema } from "../versions/training-settings-schema.ts";
import { jobStatusSchema } from "./jobs/schemas.ts";

const positive = (what = "must be greater than 0") => finite().positive(what);
const fraction = (what: string) =>
  finite().min(0, `must be in [0, 1) (${what})`).lt(1, `must be in [0, 1) (${what})`);

/**
 * How a missing cell of a feature is filled when training from a dataset: the training split's
 * mean (numeric features) or its most frequent value. One name for every feature ("mean" fills
 * categorical features with their most frequent category), or one per column.
 */
export const IMPUTATIONS = ["mean", "mostFrequent"] as const;
export type Imputation = (typeof IMPUTATIONS)[number];

export const TASKS = ["classification", "regression"] as const;

/** The share of a dataset's rows held back for evaluation when the request does not say. */
export const DEFAULT_TEST_SPLIT = 0.2;

export const preprocessingOptionsSchema = strictObject({
  scaling: z.enum(NUMERIC_SCALINGS).default("standard"),
  unknown: z
    .enum(UNKNOWN_CATEGORY_POLICIES)
    .default("error")
    .describe("A category not seen in training, at predict time: an error, or all zeros"),
  impute: z
    .union([
      z.enum(IMPUTATIONS),
      z.record(z.string(), z.enum(IMPUTATIONS, 'must be "mean" or "mostFrequent"')),
    ])
    .optional()
    .describe("Absent: a missing value is an error naming its row and column"),
});
export type PreprocessingOptions = z.output<typeof preprocessingOptionsSchema>;

const CLASSIFIER_LOSSES: readonly LossName[] = [
  "binaryCrossentropy",
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
];

export function createTrainRequestSchema(limits: RequestLimits) {
  const layer = strictObject({
    units: count(1, limits.maxUnits, "units per layer"),
    activation: z.enum(ACTIVATIONS),
    alpha: positive().optional(),
    initializer: z.enum(INITIALIZERS).optional(),
  });

  const network = strictObject({
    /** Derived from the encoded features when training from a dataset (given, it must match). */
    inputs: count(1, limits.maxUnits, "input features").optional(),
    layers: z
      .array(layer)
      .min(1, "needs at least one layer (the output layer)")
      .max(limits.maxLayers, `has more than ${limits.maxLayers} layers, the limit`),
  });

  const training = strictObject({
    epochs: count(1, limits.maxEpochs, "epochs"),
    batchSize: z
      .int("must be a whole number >= 1")
      .min(1, "must be a whole number >= 1")
      .max(MAX_BATCH_SIZE, `must be a whole number from 1 to ${MAX_BATCH_SIZE} (rows per batch)`)
      .default(32),
    shuffle: z.boolean().default(true),
    seed: count(0, 2 ** 32 - 1, "omit it for a random seed, which the job records").optional(),
    validationSplit: fraction("share of rows held out for validation").default(0),
    /** Datasets only: the share of rows held back (seeded shuffle) and evaluated after training. */
    testSplit: fraction("share of a dataset's rows held back for evaluation").optional(),
    earlyStopping: earlyStoppingSchema.optional(),
    /** How long an attempt may run before the job fails; default and maximum JOB_MAX_SECONDS. */
    timeBudgetSeconds: count(
      1,
      limits.maxJobSeconds ?? Number.MAX_SAFE_INTEGER,
      "seconds an attempt may run (JOB_MAX_SECONDS)",
    ).optional(),
  });

  const data = strictObject({
    inputs: matrix(limits.maxRows),
    targets: matrix(limits.maxRows).optional(),
    labels: z
      .array(z.int("must be a whole-number class index").min(0, "must be a class index >= 0"))
      .min(1, "needs at least one label")
      .max(limits.maxRows, `has more than ${limits.maxRows} labels, the limit per request`)
      .optional(),
  });

  return strictObject({
    model: modelName,
    network,
    loss: z.enum(LOSSES),
    optimizer: optimizerSchema.default({
      name: DEFAULT_OPTIMIZER,
      learningRate: DEFAULT_LEARNING_RATES[DEFAULT_OPTIMIZER],
    }),
    training,
    data: data.optional(),
    /** Train from an uploaded dataset instead of inline data. */
    dataset: uuid.optional(),
    target: z.string().min(1, "must name a column").optional(),
    /** Default: every column but the target. */
    features: z
      .array(z.string().min(1, "must name a column"))
      .min(1, "needs at least one column")
      .optional(),
    /** Default: classification for a categorical target, regression for a numeric one. */
    task: z.enum(TASKS).optional(),
    preprocessing: preprocessingOptionsSchema.optional(),
  }).superRefine((req, ctx) => {
    const output = req.network.layers.at(-1);
    if (!output) return;
    checkLayers(req.network.layers, ctx);
    checkSource(req, ctx);
    const inputs = req.network.inputs;
    // From a dataset the width is known only once the features are encoded: the service checks.
    const parameters = inputs === undefined ? 0 : countParameters({ ...req.network, inputs });
    if (parameters > limits.maxParameters) {
      ctx.addIssue({
        code: "custom",
        path: ["network"],
        message: `has ${parameters} parameters (weights and biases); the limit is ${limits.maxParameters}`,
      });
    }
    // The engine's rule, reported with the request's field path.
    const problem = lossOutputProblem(req.loss, output.activation);
    if (problem) {
      ctx.addIssue({
        code: "custom",
        path: ["loss"],
        message: `${problem}; the output layer uses ${output.activation}`,
      });
    }
    checkEarlyStopping(req.training, req.loss, ctx);
    if (req.data && inputs !== undefined) checkData(req.data, inputs, output, req.loss, ctx);
  });
}

/** Where each activation may go: softmax last, step alone, alpha only where it means something. */
function checkLayers(
  layers: readonly { units: number; activation: ActivationName; alpha?: number | undefined }[],
  ctx: z.core.$RefinementCtx,
): void {
  const last = layers.length - 1;
  const output = layers[last]!;
  layers.forEach((l, i) => {
    const at = ["network", "layers", i];
    if (l.activation === "softmax" && i !== last) {
      ctx.addIssue({
        code: "custom",
        path: [...at, "activation"],
        message: "softmax is only allowed on the output (last) layer",
      });
    }
    if (l.activation === "step" && layers.length > 1) {
      ctx.addIssue({
        code: "custom",
        path: [...at, "activation"],
        message:
          "step has no gradient, so it is only allowed in a single-layer network (a perceptron)",
      });
    }
    if (l.alpha !== undefined && l.activation !== "leakyRelu" && l.activation !== "elu") {
      ctx.addIssue({
        code: "custom",
        path: [...at, "alpha"],
        message: "alpha applies only to leakyRelu and elu",
      });
    }
  });
  if (output.activation === "softmax" && output.units < 2) {
    ctx.addIssue({
      code: "custom",
      path: ["network", "layers", last, "units"],
      message: "a softmax output needs at least 2 units (one per class)",
    });
  }

  if (output.activation === "softmax" && output.units < 2) {
    ctx.addIssue({
      code: "custom",
      path: ["network", "layers", last, "units"],
      message: "a softmax output needs at least 2 units (one per class)",
    });
  }
}

/** A monitor the training can report: validation needs a split, accuracy a classifier. */
function checkEarlyStopping(
  training: {
    validationSplit: number;
    earlyStopping?: { monitor?: string | undefined } | undefined;
  },
  loss: LossName,
  ctx: z.core.$RefinementCtx,
): void {
  const monitor = training.earlyStopping?.monitor;
  if (monitor?.startsWith("val") && training.validationSplit === 0) {
    ctx.addIssue({
      code: "custom",
      path: ["training", "earlyStopping", "monitor"],
      message: `${monitor} needs training.validationSplit > 0`,
    });
  }
  if (monitor?.toLowerCase().endsWith("accuracy") && !CLASSIFIER_LOSSES.includes(loss)) {
    ctx.addIssue({
      code: "custom",
      path: ["training", "earlyStopping", "monitor"],
      message: `${monitor} needs a classification loss; ${loss} reports no accuracy`,
    });
  }
}

/** Inline data or a dataset, with the fields that go with each. */
function checkSource(
  req: {
    data?: unknown;
    dataset?: string | undefined;
    target?: string | undefined;
    network: { inputs?: number | undefined };
    training: { testSplit?: number | undefined };
    features?: unknown;
    task?: unknown;
    preprocessing?: unknown;
  },
  ctx: z.core.$RefinementCtx,
): void {
  const issue = (path: PropertyKey[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });
  if (req.data !== undefined && req.dataset !== undefined) {
    issue(["dataset"], "give either data (inline rows) or dataset, not both");
    return;
  }
  if (req.dataset === undefined) {
    if (req.data === undefined) {
      issue(["data"], "is required (inline rows), or give dataset (the id of an uploaded dataset)");
      return;
    }
    if (req.network.inputs === undefined)
      issue(["network", "inputs"], "is required with inline data (a dataset derives it)");
    for (const field of ["target", "features", "task", "preprocessing"] as const)
      if (req[field] !== undefined) issue([field], "applies only when training from a dataset");
    if (req.training.testSplit !== undefined)
      issue(["training", "testSplit"], "applies only when training from a dataset");
    return;
  }
  if (req.target === undefined) issue(["target"], "is required when training from a dataset");
}

type TrainData = {
  inputs: number[][];
  targets?: number[][] | undefined;
  labels?: number[] | undefined;
};

function checkData(
  data: TrainData,
  width: number,
  output: { units: number; activation: ActivationName },
  loss: LossName,
  ctx: z.core.$RefinementCtx,
): void {
  const rows = data.inputs.length;
  const badInputs = rowReporter(ctx, ["data", "inputs"]);
  data.inputs.forEach((row, i) => {
    if (row.length !== width) {
      badInputs.add(["data", "inputs", i], `has ${row.length} values; network.inputs is ${width}`);
    }
  });
  badInputs.finish("rows with the wrong number of values");

  const { targets, labels } = data;
  if (targets && labels) {
    ctx.addIssue({
      code: "custom",
      path: ["data"],
      message: "give either data.targets or data.labels, not both",
    });
    return;
  }
  // Class indices mean something to every cross-entropy; only a regression loss has no classes.
  const labelsFit =
    loss === "sparseCategoricalCrossentropy" ||
    loss === "categoricalCrossentropy" ||
    loss === "binaryCrossentropy";
  if (!targets && !labels) {
    ctx.addIssue({
      code: "custom",
      path: ["data"],
      message: labelsFit
        ? "needs data.targets (one row per input) or data.labels (one class index per input)"
        : `needs data.targets (one row of ${output.units} values per input)`,
    });
    return;
  }

  if (labels) {
    if (!labelsFit) {
      ctx.addIssue({
        code: "custom",
        path: ["data", "labels"],
        message: `${loss} is a regression loss and needs data.targets (one row of ${output.units} values per input); labels (class indices) go with a cross-entropy loss`,
      });
      return;
    }
    if (labels.length !== rows) {
      ctx.addIssue({
        code: "custom",
        path: ["data", "labels"],
        message: `has ${labels.length} labels but data.inputs has ${rows} rows`,
      });
    }
    const classes = output.units === 1 ? 2 : output.units;
    const range =
      output.units === 1
        ? `must be 0 or 1 for a 1-unit ${output.activation} output`
        : `must be a class index from 0 to ${classes - 1} (the output layer has ${classes} units)`;
    const bad = rowReporter(ctx, ["data", "labels"]);
    labels.forEach((label, i) => {
      if (label >= classes) bad.add(["data", "labels", i], range);
    });
    bad.finish("labels out of range");
    return;
  }

  if (!targets) return;
  if (loss === "sparseCategoricalCrossentropy") {
    ctx.addIssue({
      code: "custom",
      path: ["data", "targets"],
      message:
        "sparseCategoricalCrossentropy needs data.labels (class indices); for one-hot targets use categoricalCrossentropy",
    });
    return;
  }
  if (targets.length !== rows) {
    ctx.addIssue({
      code: "custom",
      path: ["data", "targets"],
      message: `has ${targets.length} rows but data.inputs has ${rows} rows`,
    });
  }
  const probabilities = loss === "binaryCrossentropy" || loss === "categoricalCrossentropy";
  const badWidth = rowReporter(ctx, ["data", "targets"]);
  const badValue = rowReporter(ctx, ["data", "targets"]);
  targets.forEach((row, i) => {
    if (row.length !== output.units) {
      badWidth.add(
        ["data", "targets", i],
        `has ${row.length} values; the output layer has ${output.units} units`,
      );
    }
    if (probabilities) {
      const j = row.findIndex((v) => v < 0 || v > 1);
      if (j >= 0) badValue.add(["data", "targets", i, j], `must be between 0 and 1 for ${loss}`);
    }
  });
  badWidth.finish("target rows with the wrong number of values");
  badValue.finish("target rows with values outside [0, 1]");
}

/** The Idempotency-Key of a submit (a REST header, a field of the gRPC TrainRequest). */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, "must be 1-255 visible ASCII characters");

export type TrainRequestSchema = ReturnType<typeof createTrainRequestSchema>;
/** A valid request with defaults filled in: what TrainingService.submit receives. */
export type TrainRequest = z.output<TrainRequestSchema>;
/** What a client may send (defaults optional). */
export type TrainRequestInput = z.input<TrainRequestSchema>;

export const trainAcceptedSchema = z
  .object({
    jobId: z.uuid(),
    model: z.string(),
    version: z.int(),
    status: jobStatusSchema,
  })
  .meta({ id: "TrainAccepted" });
export type TrainAccepted = z.output<typeof trainAcceptedSchema>;
