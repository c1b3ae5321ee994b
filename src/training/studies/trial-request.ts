/**
 * A trial segment as an ordinary training request. From the study: the dataset, target,
 * features, preprocessing and test split. From the trial's sampled parameters, else the default
 * recipe (recipe.ts, for the data's shape learned at create): the hidden layers with their
 * activation and dropout, the batch size, the optimizer's learning rate and weight decay, label
 * smoothing. Always the recipe's output layer and loss for the target (softmax + sparse
 * cross-entropy for classes, linear + mse for a number), so the rules stay in one place.
 *
 * What makes successive halving sound here: a **constant learning rate** (a schedule would
 * decay differently for a 9-epoch rung and an 81-epoch one) and **no early stopping** (a rung
 * must train the epochs it says). Segment k > 0 continues segment k-1's version (`from`: its
 * weights and optimizer state), with the same seed, so 3 + 6 epochs equal 9 in one job, bit for
 * bit (warm-start.ts).
 */
import { defaultRecipe } from "../recipe.ts";
import type { TrainRequest } from "../request.ts";
import type { TrialParams } from "./schemas.ts";
import type { StoredStudyRequest } from "./stored.ts";

/** The validation share of a val* objective when the study does not say. */
export const DEFAULT_STUDY_VALIDATION_SPLIT = 0.2;

export interface Segment {
  trial: number;
  params: TrialParams;
  /** The rung's epochs: where this segment ends. */
  toEpochs: number;
  /** Epochs the trial's weights already have (0 for its first segment). */
  fromEpochs: number;
  /** The previous segment's version (segments after the first). */
  from?: { model: string; version: number } | undefined;
}

/**
 * Every segment of every trial trains with this seed. One seed for the whole study means one
 * test split and one validation split: trials are judged on the same rows (a seed per trial
 * gave each its own validation rows, and the noise of the split drowned the differences
 * between trials), and two trials that differ only in, say, the learning rate also start from
 * the same weights (common random numbers: the comparison sees the parameter, not the draw).
 */
export function trainingSeed(studySeed: number): number {
  // Not the sampler's seed itself: the parameters and the training draw apart.
  return (studySeed ^ 0x5bd1e995) >>> 0;
}

export function validationSplitOf(stored: StoredStudyRequest): number {
  const { request } = stored;
  if (request.validationSplit !== undefined) return request.validationSplit;
  return request.objective.metric.startsWith("val") ? DEFAULT_STUDY_VALIDATION_SPLIT : 0;
}

/** The hidden layers a trial trains: its sampled widths, activation and dropout, else the recipe's. */
export function hiddenLayers(stored: StoredStudyRequest, params: TrialParams) {
  const recipe = defaultRecipe(stored.shape).network.layers;
  const hidden = recipe.slice(0, -1);
  const units = params.layers ?? hidden.map((l) => l.units);
  const activation = (params.activation ??
    hidden[0]?.activation ??
    "relu") as (typeof recipe)[number]["activation"];
  const dropout = params.dropout ?? hidden[0]?.dropout ?? 0;
  return units.map((n) => ({ units: n, activation, ...(dropout > 0 ? { dropout } : {}) }));
}

export function trialRequest(stored: StoredStudyRequest, segment: Segment): TrainRequest {
  const { request: study, shape } = stored;
  const { params } = segment;
  const recipe = defaultRecipe(shape);
  const output = recipe.network.layers.at(-1)!;
  const name = (params.optimizer ?? "adamw") as TrainRequestOptimizer["name"];
  // The recipe's decay is AdamW's decoupled one; as another optimizer's L2 penalty it would be
  // far too strong, so those get weight decay only when the space searches it.
  const weightDecay =
    params.weightDecay ?? (name === "adamw" ? recipe.optimizer.weightDecay : undefined);
  const optimizer = {
    name,
    learningRate: params.learningRate ?? recipe.optimizer.learningRate!,
    ...(weightDecay !== undefined ? { weightDecay } : {}),
    ...(recipe.optimizer.clipNorm !== undefined ? { clipNorm: recipe.optimizer.clipNorm } : {}),
  } as TrainRequestOptimizer;
  const labelSmoothing =
    shape.classes >= 2 ? (params.labelSmoothing ?? recipe.training.labelSmoothing) : undefined;
  return {
    model: study.model,
    dataset: study.dataset,
    target: study.target,
    ...(study.features ? { features: study.features } : {}),
    ...(study.preprocessing ? { preprocessing: study.preprocessing } : {}),
    network: { layers: [...hiddenLayers(stored, params), { ...output }] },
    loss: recipe.loss,
    optimizer,
    training: {
      epochs: segment.toEpochs - segment.fromEpochs,
      batchSize: params.batchSize ?? recipe.training.batchSize,
      shuffle: true,
      seed: trainingSeed(stored.seed),
      validationSplit: validationSplitOf(stored),
      ...(study.testSplit !== undefined ? { testSplit: study.testSplit } : {}),
      ...(labelSmoothing ? { labelSmoothing } : {}),
    },
    ...(segment.from ? { from: segment.from } : {}),
  };
}

type TrainRequestOptimizer = NonNullable<TrainRequest["optimizer"]>;
