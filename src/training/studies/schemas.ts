/**
 * Studies (hyper-parameter search): the request (POST /studies, gRPC CreateStudy), the study
 * and its trials as clients see them, the curves and the event stream. One zod schema each, so
 * REST, gRPC, the OpenAPI document and the dashboard agree.
 */
import { z } from "zod";
import { ACTIVATIONS, MAX_BATCH_SIZE, OPTIMIZERS } from "../../engine/index.ts";
import {
  count,
  isoDateTime,
  modelName,
  type RequestLimits,
  strictObject,
  uuid,
} from "../../platform/validation/common.ts";
import { aliasName } from "../../versions/aliases/schemas.ts";
import { preprocessingOptionsSchema } from "../request.ts";

/** The metrics a trial can be judged on: the ones every epoch records. */
export const OBJECTIVE_METRICS = [
  "valLoss",
  "valAccuracy",
  "valMae",
  "loss",
  "accuracy",
  "mae",
] as const;
export type ObjectiveMetric = (typeof OBJECTIVE_METRICS)[number];
export const DIRECTIONS = ["minimize", "maximize"] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The direction each metric improves in; a request may state it, but not the other way. */
export const METRIC_DIRECTION: Record<ObjectiveMetric, Direction> = {
  valLoss: "minimize",
  loss: "minimize",
  valMae: "minimize",
  mae: "minimize",
  valAccuracy: "maximize",
  accuracy: "maximize",
};

export const SCHEDULERS = ["asha", "random"] as const;
export type Scheduler = (typeof SCHEDULERS)[number];
export const KEEP = ["best", "all"] as const;

/** Trials one study may have (each is at least one training job). */
export const MAX_TRIALS = 500;
/** Segments of one study that may be queued or running at once. */
export const MAX_CONCURRENT = 64;
export const MAX_CHOICES = 64;

/** Hidden activations a study may try: softmax and step make no sense between layers. */
export const HIDDEN_ACTIVATIONS = ACTIVATIONS.filter((a) => a !== "softmax" && a !== "step");

type Bounds = { min: number; max: number; integer?: boolean; what: string };

/**
 * One searched parameter: exactly one of `choice` (a list to pick from, uniformly), `uniform`
 * ([low, high]), `logUniform` ([low, high], both > 0; uniform in log space) or `int` ([low,
 * high], whole numbers, both ends included). Values are checked against the parameter's range.
 */
function distribution<T extends z.ZodType>(option: T, bounds: Bounds | null) {
  const pair = z.tuple([z.number(), z.number()], "must be a pair [low, high]");
  return strictObject({
    choice: z
      .array(option)
      .min(1, "needs at least one option")
      .max(MAX_CHOICES, `has more than ${MAX_CHOICES} options`)
      .optional(),
    uniform: pair.optional(),
    logUniform: pair.optional(),
    int: pair.optional(),
  }).superRefine((d, ctx) => {
    const given = (["choice", "uniform", "logUniform", "int"] as const).filter(
      (k) => d[k] !== undefined,
    );
    if (given.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message:
          given.length === 0
            ? "needs one of choice, uniform, logUniform or int"
            : `gives ${given.join(" and ")}; give exactly one of choice, uniform, logUniform or int`,
      });
      return;
    }
    const kind = given[0]!;
    if (kind === "choice") return;
    if (!bounds) {
      ctx.addIssue({ code: "custom", path: [kind], message: "this parameter takes only choice" });
      return;
    }
    const [low, high] = d[kind]!;
    if (low > high) {
      ctx.addIssue({
        code: "custom",
        path: [kind],
        message: `low ${low} is greater than high ${high}`,
      });
    }
    if (kind === "logUniform" && low <= 0) {
      ctx.addIssue({ code: "custom", path: [kind, 0], message: "must be > 0 (log scale)" });
    }
    if (kind === "int" && (!Number.isInteger(low) || !Number.isInteger(high))) {
      ctx.addIssue({ code: "custom", path: [kind], message: "must be whole numbers" });
    }
    if ((kind === "uniform" || kind === "logUniform") && bounds.integer) {
      ctx.addIssue({
        code: "custom",
        path: [kind],
        message: `takes whole numbers (${bounds.what}): use int or choice`,
      });
    }
    for (const [i, v] of [low, high].entries()) {
      if (v < bounds.min || v > bounds.max) {
        ctx.addIssue({
          code: "custom",
          path: [kind, i],
          message: `must be from ${bounds.min} to ${bounds.max} (${bounds.what})`,
        });
      }
    }
  });
}

const fractionBelowOne = z
  .number()
  .min(0, "must be from 0 to below 1")
  .lt(1, "must be from 0 to below 1");

export function createSearchSpaceSchema(limits: RequestLimits) {
  const units = count(1, limits.maxUnits, "units per layer");
  return strictObject({
    /** Hidden layer widths, first to last; the output layer follows from the target. */
    layers: distribution(
      z
        .array(units)
        .min(1, "needs at least one hidden layer")
        .max(limits.maxLayers - 1, `has more than ${limits.maxLayers - 1} hidden layers`),
      null,
    ).optional(),
    activation: distribution(z.enum(HIDDEN_ACTIVATIONS), null).optional(),
    optimizer: distribution(z.enum(OPTIMIZERS), null).optional(),
    learningRate: distribution(z.number().positive("must be > 0").max(10), {
      min: 1e-8,
      max: 10,
      what: "learning rate",
    }).optional(),
    /** Dropout after every hidden layer. */
    dropout: distribution(fractionBelowOne, { min: 0, max: 0.99, what: "dropout" }).optional(),
    batchSize: distribution(count(1, MAX_BATCH_SIZE, "rows per batch"), {
      min: 1,
      max: MAX_BATCH_SIZE,
      integer: true,
      what: "rows per batch",
    }).optional(),
    /** AdamW's decoupled weight decay (L2 for the other optimizers). */
    weightDecay: distribution(z.number().min(0, "must be >= 0").max(10), {
      min: 0,
      max: 10,
      what: "weight decay",
    }).optional(),
    /** Cross-entropy losses only. */
    labelSmoothing: distribution(fractionBelowOne, {
      min: 0,
      max: 0.99,
      what: "label smoothing",
    }).optional(),
  }).refine((space) => Object.values(space).some((v) => v !== undefined), {
    message: "needs at least one parameter to search",
  });
}
export type SearchSpace = z.output<ReturnType<typeof createSearchSpaceSchema>>;
export type SpaceParameter = keyof SearchSpace;

/** One trial's sampled values, by parameter name (only the parameters the space has). */
export const trialParamsSchema = z
  .object({
    layers: z.array(z.int()).optional(),
    activation: z.string().optional(),
    optimizer: z.string().optional(),
    learningRate: z.number().optional(),
    dropout: z.number().optional(),
    batchSize: z.int().optional(),
    weightDecay: z.number().optional(),
    labelSmoothing: z.number().optional(),
  })
  .meta({ id: "TrialParams" });
export type TrialParams = z.output<typeof trialParamsSchema>;

export function createStudyRequestSchema(limits: RequestLimits) {
  return strictObject({
    /** A label for people; several studies may share it. */
    name: z.string().min(1).max(200).optional(),
    /** Trials train versions of this model; only the winner is served by default. */
    model: modelName,
    dataset: uuid,
    target: z.string().min(1, "must name a column"),
    features: z.array(z.string().min(1, "must name a column")).min(1).optional(),
    preprocessing: preprocessingOptionsSchema.optional(),
    objective: strictObject({
      metric: z.enum(OBJECTIVE_METRICS),
      direction: z.enum(DIRECTIONS).optional(),
    }),
    space: createSearchSpaceSchema(limits),
    budget: strictObject({
      trials: count(1, MAX_TRIALS, "trials"),
      maxEpochs: count(1, limits.maxEpochs, "epochs of a trial that reaches the top rung"),
      /** The first rung: every trial trains this many epochs before it is judged. */
      minEpochs: count(1, limits.maxEpochs, "epochs before the first judgement").default(1),
      /** η: the top 1/η of each rung go on; rungs are minEpochs·η^k, then maxEpochs. */
      reductionFactor: count(2, 16, "η").default(3),
      maxConcurrent: count(1, MAX_CONCURRENT, "segments queued or running at once").default(2),
    }),
    scheduler: z.enum(SCHEDULERS).default("asha"),
    /** The sampler's and every trial's seed; omit for a random one, which the study records. */
    seed: count(0, 2 ** 32 - 1, "seed").optional(),
    /** Share of the training rows held out for the val* metrics; default 0.2 for them, else 0. */
    validationSplit: z
      .number()
      .gt(0, "must be above 0 and below 1")
      .lt(1, "must be above 0 and below 1")
      .optional(),
    /** Share of the dataset's rows held back and evaluated after training (default 0.2). */
    testSplit: z.number().min(0).lt(1).optional(),
    /** The winner's version gets this alias when the study succeeds. */
    promote: strictObject({ alias: aliasName }).optional(),
    /** What to keep of the trials' versions when the study ends: the best one, or each trial's last. */
    keep: z.enum(KEEP).default("best"),
  }).superRefine((req, ctx) => {
    const { minEpochs, maxEpochs } = req.budget;
    if (minEpochs > maxEpochs) {
      ctx.addIssue({
        code: "custom",
        path: ["budget", "minEpochs"],
        message: `${minEpochs} is more than maxEpochs (${maxEpochs}): the rungs do not fit`,
      });
    }
    if (req.scheduler === "asha" && req.budget.trials < req.budget.reductionFactor) {
      ctx.addIssue({
        code: "custom",
        path: ["budget", "trials"],
        message: `${req.budget.trials} trials cannot fill a rung's top 1/${req.budget.reductionFactor}: asha needs at least reductionFactor trials (or use scheduler "random")`,
      });
    }
    const { metric, direction } = req.objective;
    if (direction !== undefined && direction !== METRIC_DIRECTION[metric]) {
      ctx.addIssue({
        code: "custom",
        path: ["objective", "direction"],
        message: `${metric} is better when it is ${METRIC_DIRECTION[metric] === "minimize" ? "lower" : "higher"}; the direction is ${METRIC_DIRECTION[metric]}`,
      });
    }
    if (!metric.startsWith("val") && req.validationSplit !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["validationSplit"],
        message: `holds rows out for val* metrics; the objective ${metric} does not use them`,
      });
    }
  });
}
export type StudyRequestSchema = ReturnType<typeof createStudyRequestSchema>;
export type StudyRequest = z.output<StudyRequestSchema>;
export type StudyRequestInput = z.input<StudyRequestSchema>;

export const STUDY_STATUSES = ["running", "succeeded", "failed", "cancelled"] as const;
export type StudyStatus = (typeof STUDY_STATUSES)[number];

/**
 * pending: not started; running: a segment is queued or training; paused: waiting at a rung,
 * may still be promoted; promoted: its continuation is queued or training; pruned: stopped at
 * a rung for good; completed: reached the top rung; failed: a segment failed; cancelled.
 */
export const TRIAL_STATUSES = [
  "pending",
  "running",
  "paused",
  "promoted",
  "pruned",
  "completed",
  "failed",
  "cancelled",
] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

export const rungResultSchema = z.object({
  rung: z.int().describe("Rung index, 0 first"),
  epochs: z.int().describe("Epochs trained when judged"),
  metric: z.number().nullable().describe("The objective then; null when not finite"),
  version: z.int().nullable().describe("The version holding those weights; null once dropped"),
});

export const trialSchema = z
  .object({
    trial: z.int().describe("1, 2, ... in sampling order"),
    params: trialParamsSchema,
    status: z.enum(TRIAL_STATUSES),
    /** Epochs trained so far (finished segments). */
    epochs: z.int(),
    /** The objective at the highest rung reached; null before the first. */
    metric: z.number().nullable(),
    /** The version of the highest rung reached; null before the first or once dropped. */
    version: z.int().nullable(),
    /** The queued or running segment's job. */
    job: z.string().nullable(),
    rungs: z.array(rungResultSchema),
    error: z.string().nullable(),
  })
  .meta({ id: "StudyTrial" });
export type Trial = z.output<typeof trialSchema>;

export const studySchema = z
  .object({
    id: uuid,
    name: z.string().nullable(),
    model: z.string(),
    dataset: z.string().nullable(),
    target: z.string(),
    status: z.enum(STUDY_STATUSES),
    objective: z.object({ metric: z.enum(OBJECTIVE_METRICS), direction: z.enum(DIRECTIONS) }),
    scheduler: z.enum(SCHEDULERS),
    seed: z.int(),
    budget: z.object({
      trials: z.int(),
      maxEpochs: z.int(),
      minEpochs: z.int(),
      reductionFactor: z.int(),
      maxConcurrent: z.int(),
    }),
    /** Epochs at which trials are judged, the last being maxEpochs. */
    rungs: z.array(z.int()),
    space: z.record(z.string(), z.unknown()),
    keep: z.enum(KEEP),
    promote: z.object({ alias: z.string() }).nullable(),
    trials: z.array(trialSchema),
    best: z
      .object({ trial: z.int(), version: z.int().nullable(), metric: z.number(), epochs: z.int() })
      .nullable()
      .describe(
        "The best result at the highest rung any trial reached (then the better objective); null before the first",
      ),
    epochsSpent: z.int(),
    /** Every trial to maxEpochs: what a search without pruning would spend. */
    epochsIfExhaustive: z.int(),
    error: z.string().nullable(),
    createdAt: isoDateTime,
    finishedAt: isoDateTime.nullable(),
  })
  .meta({ id: "Study" });
export type Study = z.output<typeof studySchema>;

/** The list view: the study without its trials. */
export const studySummarySchema = studySchema
  .omit({ trials: true, space: true })
  .extend({ trialCounts: z.record(z.string(), z.int()) })
  .meta({ id: "StudySummary" });
export type StudySummary = z.output<typeof studySummarySchema>;

export const studyListQuerySchema = strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().optional(),
  model: modelName.optional(),
  status: z.enum(STUDY_STATUSES).optional(),
});
export type StudyListQuery = z.output<typeof studyListQuerySchema>;

export const studyPageSchema = z
  .object({ items: z.array(studySummarySchema), nextCursor: z.string().nullable() })
  .meta({ id: "StudyPage" });
export type StudyPage = z.output<typeof studyPageSchema>;

export const studyParamsSchema = strictObject({ id: uuid });

/** Every epoch each trial trained, across its segments, for the leaderboard chart. */
export const studyCurvesSchema = z
  .object({
    trials: z.array(
      z.object({
        trial: z.int(),
        status: z.enum(TRIAL_STATUSES),
        points: z.array(
          z.object({
            epoch: z.int(),
            loss: z.number().nullable(),
            valLoss: z.number().nullable(),
            accuracy: z.number().nullable(),
            valAccuracy: z.number().nullable(),
            mae: z.number().nullable(),
            valMae: z.number().nullable(),
          }),
        ),
      }),
    ),
  })
  .meta({ id: "StudyCurves" });
export type StudyCurves = z.output<typeof studyCurvesSchema>;

export const STUDY_EVENT_TYPES = [
  "trial.started",
  "rung.reached",
  "trial.promoted",
  "trial.pruned",
  "trial.completed",
  "trial.failed",
  "best.changed",
  "study.finished",
] as const;
export type StudyEventType = (typeof STUDY_EVENT_TYPES)[number];

/** One decision or observation, in the order the study made them; `id` grows. */
export const studyEventSchema = z
  .object({
    id: z.int(),
    type: z.enum(STUDY_EVENT_TYPES),
    trial: z.int().nullable(),
    rung: z.int().nullable(),
    epochs: z.int().nullable(),
    metric: z.number().nullable(),
    version: z.int().nullable(),
    /** study.finished: the study's final status. */
    status: z.enum(STUDY_STATUSES).nullable(),
    at: isoDateTime,
  })
  .meta({ id: "StudyEvent" });
export type StudyEvent = z.output<typeof studyEventSchema>;
