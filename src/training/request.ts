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
  checkScheduleFits,
  countParameters,
  DEFAULT_LEARNING_RATES,
  DEFAULT_OPTIMIZER,
  EngineError,
  INITIALIZERS,
  LOSSES,
  type LossName,
  lossOutputProblem,
  MAX_BATCH_SIZE,
  resolveSchedule,
} from "../engine/index.ts";
import type { FieldIssue } from "../platform/errors.ts";
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
import {
  type ClassWeightsRequest,
  classWeightsSchema,
  earlyStoppingSchema,
  optimizerSchema,
} from "../versions/training-settings-schema.ts";
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
  scaling: z
    .enum(NUMERIC_SCALINGS)
    .default("standard")
    .describe("robust: median and interquartile range, for columns with outliers"),
  clip: z
    .boolean()
    .optional()
    .describe("Smooth clipping of scaled numeric features: z / sqrt(1 + (z/3)²) (RealMLP's)"),
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

/** The optimizer of a request with a network and no optimizer: the engine's default. */
export const DEFAULT_REQUEST_OPTIMIZER = {
  name: DEFAULT_OPTIMIZER,
  learningRate: DEFAULT_LEARNING_RATES[DEFAULT_OPTIMIZER],
} as const;

const CLASSIFIER_LOSSES: readonly LossName[] = [
  "binaryCrossentropy",
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
];

/** The `training` object: with no network, what it leaves out is the recipe's or the source's. */
function trainingSettingsSchema(limits: RequestLimits) {
  return strictObject({
    // With a network: epochs required, the others default as TRAINING_DEFAULTS says; without
    // one, what is left out is the recipe's (or the warm start source's).
    epochs: count(1, limits.maxEpochs, "epochs").optional(),
    batchSize: z
      .int("must be a whole number >= 1")
      .min(1, "must be a whole number >= 1")
      .max(MAX_BATCH_SIZE, `must be a whole number from 1 to ${MAX_BATCH_SIZE} (rows per batch)`)
      .optional()
      .describe("Default 32"),
    shuffle: z.boolean().optional().describe("Default true"),
    seed: count(0, 2 ** 32 - 1, "omit it for a random seed, which the job records").optional(),
    validationSplit: fraction("share of rows held out for validation")
      .optional()
      .describe("Default 0"),
    /** Datasets only: the share of rows held back (seeded shuffle) and evaluated after training. */
    testSplit: fraction("share of a dataset's rows held back for evaluation").optional(),
    earlyStopping: earlyStoppingSchema.optional(),
    /** How long an attempt may run before the job fails; default and maximum JOB_MAX_SECONDS. */
    timeBudgetSeconds: count(
      1,
      limits.maxJobSeconds ?? Number.MAX_SAFE_INTEGER,
      "seconds an attempt may run (JOB_MAX_SECONDS)",
    ).optional(),
    labelSmoothing: fraction("cross-entropies: targets become (1 - e)·t + e/classes").optional(),
    classWeights: classWeightsSchema.optional(),
    /** Keep the optimizer's state with the version, so it can be continued exactly (default). */
    storeOptimizerState: z.boolean().optional(),
  });
}

export function createTrainRequestSchema(limits: RequestLimits) {
  const layer = strictObject({
    units: count(1, limits.maxUnits, "units per layer"),
    activation: z.enum(ACTIVATIONS),
    alpha: positive().optional(),
    initializer: z.enum(INITIALIZERS).optional(),
    dropout: fraction("share of this layer's outputs dropped while training").optional(),
  });

  const network = strictObject({
    /** Derived from the encoded features when training from a dataset (given, it must match). */
    inputs: count(1, limits.maxUnits, "input features").optional(),
    inputDropout: fraction("share of the input features dropped while training").optional(),
    layers: z
      .array(layer)
      .min(1, "needs at least one layer (the output layer)")
      .max(limits.maxLayers, `has more than ${limits.maxLayers} layers, the limit`),
  });

  const training = trainingSettingsSchema(limits);

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
    /**
     * Absent or "auto" with a dataset: the default recipe (recipe.ts) picks the network, loss,
     * optimizer and training settings the request leaves out. With `from`: the source's.
     */
    network: z
      .preprocess((value) => (value === "auto" ? undefined : value), network.optional())
      .describe('A network object, or "auto" (the same as leaving it out)'),
    /** Required with a network; the recipe picks it with "auto". */
    loss: z.enum(LOSSES).optional(),
    /** Default: adam (the engine's learning rate, 0.001); the recipe's with no network. */
    optimizer: optimizerSchema.optional(),
    /** Required with a network; with no network the recipe's, when left out. */
    training: training.optional(),
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
    /** Warm start: continue training a ready version (same architecture and preprocessing). */
    from: strictObject({ model: modelName, version: count(1, 2 ** 31 - 1, "version number") })
      .optional()
      .describe("Continue training this ready version as a new version"),
  })
    .superRefine((req, ctx) => {
      if (req.network === undefined) {
        checkAuto(req, ctx);
        return;
      }
      const { loss, training } = req;
      if (!checkRequired(req, ctx) || loss === undefined || training?.epochs === undefined) {
        return;
      }
      const network = req.network;
      const settings = withTrainingDefaults(training);
      const output = network.layers.at(-1);
      if (!output) return;
      checkLayers(network.layers, ctx);
      checkSource({ ...req, network, training }, ctx);
      const inputs = network.inputs;
      checkSizeAndLoss(network, loss, limits.maxParameters, ctx);
      checkEarlyStopping(settings, loss, ctx);
      checkClassifierOnly(training, loss, ctx);
      if (req.data && inputs !== undefined) {
        checkData(req.data, inputs, output, loss, ctx);
        checkInlineModelling(req.data.inputs.length, req.optimizer, settings, output, ctx);
      }
    })
    .transform((req) =>
      // A request with its own network trains with adam and the usual defaults unless it says
      // otherwise; one without gets the recipe's or its source's (resolve-request.ts).
      req.network !== undefined && req.training !== undefined
        ? {
            ...req,
            optimizer: req.optimizer ?? { ...DEFAULT_REQUEST_OPTIMIZER },
            training: withTrainingDefaults(req.training),
          }
        : req,
    );
}

/** The parameter budget, and the engine's loss <-> output rule with the request's field path. */
function checkSizeAndLoss(
  network: {
    inputs?: number | undefined;
    layers: readonly { units: number; activation: ActivationName }[];
  },
  loss: LossName,
  maxParameters: number,
  ctx: z.core.$RefinementCtx,
): void {
  const inputs = network.inputs;
  // From a dataset the width is known only once the features are encoded: the service checks.
  const parameters = inputs === undefined ? 0 : countParameters({ ...network, inputs });
  if (parameters > maxParameters) {
    ctx.addIssue({
      code: "custom",
      path: ["network"],
      message: `has ${parameters} parameters (weights and biases); the limit is ${maxParameters}`,
    });
  }
  const output = network.layers.at(-1);
  const problem = output ? lossOutputProblem(loss, output.activation) : null;
  if (output && problem) {
    ctx.addIssue({
      code: "custom",
      path: ["loss"],
      message: `${problem}; the output layer uses ${output.activation}`,
    });
  }
}

/** With a network, loss, training and its epochs are the request's to give. */
function checkRequired(
  req: { loss?: LossName | undefined; training?: { epochs?: number | undefined } | undefined },
  ctx: z.core.$RefinementCtx,
): boolean {
  let complete = true;
  for (const field of ["loss", "training"] as const) {
    if (req[field] === undefined) {
      complete = false;
      ctx.addIssue({
        code: "custom",
        path: [field],
        message: 'is required with a network (omit the network, or "auto", for the default recipe)',
      });
    }
  }
  if (req.training !== undefined && req.training.epochs === undefined) {
    complete = false;
    ctx.addIssue({
      code: "custom",
      path: ["training", "epochs"],
      message: "is required with a network",
    });
  }
  return complete;
}

/** Label smoothing and class weights mean something for the cross-entropies only. */
function checkClassifierOnly(
  training: { labelSmoothing?: number | undefined; classWeights?: unknown } | undefined,
  loss: LossName | undefined,
  ctx: z.core.$RefinementCtx,
): void {
  if (loss === undefined || CLASSIFIER_LOSSES.includes(loss)) return;
  for (const field of ["labelSmoothing", "classWeights"] as const) {
    if (training?.[field] !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["training", field],
        message: `applies to the cross-entropy losses; ${loss} is a regression loss`,
      });
    }
  }
}

/** Inline data: the warmup fits the run's steps, class weights name class indices. */
function checkInlineModelling(
  rows: number,
  optimizer: { decay?: unknown } | undefined,
  settings: ResolvedTraining & { classWeights?: ClassWeightsRequest | undefined },
  output: { units: number },
  ctx: z.core.$RefinementCtx,
): void {
  const warm = warmupIssue(optimizer ?? DEFAULT_REQUEST_OPTIMIZER, settings, rows);
  if (warm) ctx.addIssue({ code: "custom", path: warm.path.split("."), message: warm.message });
  const classes = output.units === 1 ? 2 : output.units;
  const names = Array.from({ length: classes }, (_, i) => String(i));
  for (const issue of unknownClasses(settings.classWeights, names, "class index")) {
    ctx.addIssue({
      code: "custom",
      path: ["training", "classWeights", issue.key],
      message: issue.message,
    });
  }
}

/** A request's own training settings with the defaults of a request that has a network. */
export const TRAINING_DEFAULTS = { batchSize: 32, shuffle: true, validationSplit: 0 } as const;

export function withTrainingDefaults<T extends { epochs?: number | undefined }>(
  training: T,
): T & ResolvedTraining {
  return {
    ...TRAINING_DEFAULTS,
    ...definedOnly(training),
    epochs: training.epochs as number,
  } as T & ResolvedTraining;
}

/** The fields that are set (a spread must not overwrite a default with undefined). */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface ResolvedTraining {
  epochs: number;
  batchSize: number;
  shuffle: boolean;
  validationSplit: number;
}

/**
 * A schedule's warmup must end before the run does; in steps that depends on the training rows
 * (after the validation split) and the batch size. The engine's own check, as a field issue.
 */
export function warmupIssue(
  optimizer: { decay?: unknown } | { readonly name: string },
  training: { epochs: number; batchSize: number; validationSplit: number },
  rows: number,
): FieldIssue | undefined {
  if (!("decay" in optimizer) || optimizer.decay === undefined) return undefined;
  const trainRows = rows - Math.floor(rows * training.validationSplit);
  try {
    checkScheduleFits(
      resolveSchedule(optimizer.decay, "optimizer.decay"),
      training.epochs,
      Math.ceil(Math.max(trainRows, 1) / training.batchSize),
      "optimizer.decay",
    );
  } catch (error) {
    if (error instanceof EngineError) return { path: error.field, message: error.message };
    throw error;
  }
  return undefined;
}

/** Class-weight keys that name no class (`names`: the classes, in index order). */
export function unknownClasses(
  weights: ClassWeightsRequest | undefined,
  names: readonly string[],
  what: string,
): { key: string; message: string }[] {
  if (weights === undefined || weights === "balanced") return [];
  return Object.keys(weights)
    .filter((key) => !names.includes(key))
    .map((key) => ({ key, message: `names no class; the ${what}s are ${names.join(", ")}` }));
}

/**
 * The weight of every class (index order): "balanced" is n / (classes · n_c) from the training
 * labels (a class without rows weighs 0), a map gives its classes' weights and 1 to the others.
 */
export function resolveClassWeights(
  weights: ClassWeightsRequest,
  names: readonly string[],
  labels: ArrayLike<number>,
): number[] {
  if (weights !== "balanced") return names.map((name) => weights[name] ?? 1);
  const counts = new Array<number>(names.length).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i] as number]! += 1;
  return counts.map((n) => (n === 0 ? 0 : labels.length / (names.length * n)));
}

/** No network: the recipe needs a dataset (its shape), or `from` gives the source's network. */
function checkAuto(
  req: {
    dataset?: string | undefined;
    from?: unknown;
    data?: unknown;
    loss?: LossName | undefined;
    training?: { labelSmoothing?: number | undefined; classWeights?: unknown } | undefined;
  },
  ctx: z.core.$RefinementCtx,
): void {
  checkClassifierOnly(req.training, req.loss, ctx);
  if (req.dataset === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["network"],
      message:
        'is required with inline data; the default recipe ("auto" or no network) and a warm start without one need a dataset',
    });
  }
  if (req.data !== undefined && req.dataset !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["dataset"],
      message: "give either data (inline rows) or dataset, not both",
    });
  }
}

/**
 * Where each activation may go: softmax last, step alone, alpha only where it means something;
 * dropout on hidden layers only.
 */
function checkLayers(
  layers: readonly {
    units: number;
    activation: ActivationName;
    alpha?: number | undefined;
    dropout?: number | undefined;
  }[],
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
  if (output.dropout !== undefined && output.dropout > 0) {
    ctx.addIssue({
      code: "custom",
      path: ["network", "layers", last, "dropout"],
      message: "the output layer cannot drop units; put dropout on hidden layers",
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
/** The request's network object (not "auto"). */
export type NetworkRequest = NonNullable<TrainRequest["network"]>;
/** A request whose network and loss are known: given, from the recipe, or from `from`. */
export type ResolvedTrainRequest = Omit<
  TrainRequest,
  "network" | "loss" | "optimizer" | "training"
> & {
  network: NetworkRequest;
  loss: LossName;
  optimizer: NonNullable<TrainRequest["optimizer"]>;
  training: TrainingRequest;
};
/** Training settings with epochs, batch size, shuffle and validation split known. */
export type TrainingRequest = NonNullable<TrainRequest["training"]> & ResolvedTraining;
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
