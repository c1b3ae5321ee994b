/**
 * The default recipe: what POST /train picks when a dataset request leaves out the network (or
 * says "auto"), from the data's shape alone. Tabular MLP practice (RealMLP, Holzmüller et al.
 * 2024; Kadra et al. 2021 "well-tuned simple nets"), scaled to stay fast on 100k rows:
 *
 *   network      two ReLU hidden layers, 64/128/256 units by row count (≤ 2,000 / ≤ 20,000 /
 *                more), dropout 0.1 on them (0.2 for a regression under 1,000 rows); softmax
 *                (classes) or linear output
 *   loss         sparse categorical cross-entropy with label smoothing 0.1, or mse
 *   optimizer    AdamW, learning rate 2e-3, decoupled weight decay 0.1, gradient clip 10
 *   schedule     cosine to 0 over the run in steps, warmup the first 5% of steps
 *   batch size   32 / 64 / 128 / 256 (≤ 1,000 / ≤ 5,000 / ≤ 50,000 / more rows)
 *   epochs       enough for about 6,000 steps, from 20 to 300 epochs
 *   stopping     classification from 2,000 rows and regression from 100 to 1,000 rows: 10%
 *                of the training rows held out, early stopping on valLoss, patience 20
 *                epochs, best weights restored; otherwise the whole budget on every row
 *
 * docs/modelling.md gives the reasons and the benchmark behind them. Fields the request does
 * give (loss, optimizer, training settings) are kept; the recipe fills in the rest.
 */
import type { LossName, OptimizerSpec } from "../engine/index.ts";
import {
  definedOnly,
  type NetworkRequest,
  type ResolvedTrainRequest,
  type TrainingRequest,
  type TrainRequest,
} from "./request.ts";

export interface DataShape {
  /** Training rows (after the test split). */
  rows: number;
  /** Encoded input columns. */
  features: number;
  /** Classes of a classification target; 0 for regression. */
  classes: number;
}

export interface Recipe {
  network: NetworkRequest;
  loss: LossName;
  optimizer: OptimizerSpec;
  training: {
    epochs: number;
    batchSize: number;
    validationSplit: number;
    earlyStopping?: {
      monitor: "valLoss";
      patience: number;
      restoreBestWeights: boolean;
    };
    labelSmoothing?: number;
  };
}

/** Mini-batch updates a run aims for (epochs = this / steps per epoch, within 20..300). */
const TARGET_STEPS = 6000;
const LEARNING_RATE = 2e-3;
const WEIGHT_DECAY = 0.1;

export function defaultRecipe(shape: DataShape): Recipe {
  const { rows, classes } = shape;
  const units = rows <= 2000 ? 64 : rows <= 20_000 ? 128 : 256;
  const classification = classes >= 2;
  // Small noisy regressions overfit most: more dropout there.
  const dropout = !classification && rows < 1000 ? 0.2 : 0.1;
  const batchSize = rows <= 1000 ? 32 : rows <= 5000 ? 64 : rows <= 50_000 ? 128 : 256;
  // Classification holds out validation rows (early stopping) from 2,000 rows: below that every
  // row is worth more for training than for stopping. A regression from 100 to 1,000 rows
  // stops early (small noisy targets overfit a fixed budget); larger ones train the budget.
  const validate = classification ? rows >= 2000 : rows >= 100 && rows < 1000;
  const validationSplit = validate ? 0.1 : 0;
  const trainRows = rows - Math.floor(rows * validationSplit);
  const stepsPerEpoch = Math.max(1, Math.ceil(trainRows / batchSize));
  const epochs = Math.min(300, Math.max(20, Math.ceil(TARGET_STEPS / stepsPerEpoch)));
  const hidden = (n: number) => ({
    units: n,
    activation: "relu" as const,
    ...(dropout > 0 ? { dropout } : {}),
  });
  const network: NetworkRequest = {
    layers: [
      hidden(units),
      hidden(units),
      classification
        ? { units: classes, activation: "softmax" as const }
        : { units: 1, activation: "linear" as const },
    ],
  };
  const totalSteps = epochs * stepsPerEpoch;
  const recipe: Recipe = {
    network,
    loss: classification ? "sparseCategoricalCrossentropy" : "mse",
    optimizer: {
      name: "adamw",
      learningRate: LEARNING_RATE,
      weightDecay: WEIGHT_DECAY,
      clipNorm: 10,
      decay: {
        type: "cosine",
        unit: "steps",
        warmup: Math.min(Math.floor(totalSteps * 0.05), totalSteps - 1),
      },
    },
    training: { epochs, batchSize, validationSplit },
  };
  if (validate) {
    recipe.training.earlyStopping = { monitor: "valLoss", patience: 20, restoreBestWeights: true };
  }
  if (classification) recipe.training.labelSmoothing = 0.1;
  return recipe;
}

/**
 * The request with the recipe filled in where it is silent: the network always; the loss and
 * the optimizer when left out; the training settings field by field.
 */
export function applyRecipe(req: TrainRequest, shape: DataShape): ResolvedTrainRequest {
  const recipe = defaultRecipe(shape);
  const loss = req.loss ?? recipe.loss;
  const network = recipe.network;
  if (loss === "binaryCrossentropy" && shape.classes === 2) {
    network.layers[network.layers.length - 1] = { units: 1, activation: "sigmoid" };
  } else if (loss === "binaryCrossentropy") {
    network.layers[network.layers.length - 1] = { units: shape.classes, activation: "sigmoid" };
  }
  // The request's own training fields win one by one; the recipe fills the rest.
  const given = definedOnly(req.training ?? {});
  const training = {
    ...recipe.training,
    shuffle: true,
    ...given,
  } as TrainingRequest;
  const optimizer = req.optimizer ?? (recipe.optimizer as ResolvedTrainRequest["optimizer"]);
  if (req.optimizer === undefined && optimizer.decay) {
    // The recipe's warmup, counted against the run the merged training settings make.
    const trainRows = shape.rows - Math.floor(shape.rows * training.validationSplit);
    const steps = training.epochs * Math.ceil(Math.max(trainRows, 1) / training.batchSize);
    optimizer.decay = { ...optimizer.decay, warmup: Math.max(0, Math.floor(steps * 0.05)) };
  }
  return { ...req, network, loss, optimizer, training };
}
