/**
 * POST /train from a dataset: the fitted rows (src/datasets/fit.ts) checked against the network
 * and loss the request asks for, and turned into the job's stored splits exactly as inline data
 * would be (train), plus the held-back test rows (test) that are evaluated once the job succeeds.
 */

import { type EncodingLimits, type FittedDataset, fitDataset } from "../datasets/fit.ts";
import type { LoadedDataset } from "../datasets/service.ts";
import { countParameters } from "../engine/index.ts";
import { float32ToBytes, int32ToBytes } from "../platform/db/binary.ts";
import { type FieldIssue, formatPath, validationError } from "../platform/errors.ts";
import type { Preprocessing } from "../versions/preprocessing/schema.ts";
import type { TrainingDataInput } from "./jobs/create-job.ts";
import { labelTargets } from "./label-targets.ts";
import {
  DEFAULT_TEST_SPLIT,
  type PreprocessingOptions,
  type ResolvedTrainRequest,
  resolveClassWeights,
  type TrainRequest,
  unknownClasses,
  warmupIssue,
} from "./request.ts";
import { resolveRequest } from "./resolve-request.ts";
import type { WarmStart } from "./warm-start.ts";

export interface DatasetTraining {
  /** The network's input width: the encoded features. */
  inputs: number;
  preprocessing: Preprocessing;
  /** The training rows carry class indices (sparse labels). */
  labels: boolean;
  data: TrainingDataInput[];
  /** The class weights asked for, resolved against the target's classes (classification). */
  classWeights?: number[];
  /** The request with its network, loss, optimizer and training settings all known. */
  request: ResolvedTrainRequest;
}

const DEFAULT_OPTIONS: PreprocessingOptions = { scaling: "standard", unknown: "error" };

export interface DatasetTrainingLimits extends Partial<EncodingLimits> {
  maxParameters: number;
}

export function prepareDatasetTraining(
  dataset: LoadedDataset,
  request: TrainRequest,
  seed: number,
  { maxParameters, maxInputs, maxEncodedValues }: DatasetTrainingLimits,
  source?: WarmStart,
): DatasetTraining {
  const fitted = fitDataset(dataset, {
    target: request.target as string,
    features: request.features,
    task: request.task,
    testSplit:
      request.training?.testSplit ?? source?.training.dataset?.testSplit ?? DEFAULT_TEST_SPLIT,
    seed,
    options: request.preprocessing ?? DEFAULT_OPTIONS,
    limits: {
      maxInputs: maxInputs ?? Number.MAX_SAFE_INTEGER,
      maxEncodedValues: maxEncodedValues ?? Number.MAX_SAFE_INTEGER,
    },
  });
  const target = fitted.preprocessing.target;
  const req = resolveRequest(request, source, {
    rows: fitted.train.rows,
    features: fitted.width,
    classes: target.type === "categorical" ? target.classes.length : 0,
  });
  const issues = checkNetwork(req, fitted, maxParameters);
  const warm = warmupIssue(req.optimizer, req.training, fitted.train.rows);
  if (warm) issues.push(warm);
  const names = target.type === "categorical" ? target.classes : [];
  if (req.training.classWeights !== undefined && target.type === "categorical") {
    for (const { key, message } of unknownClasses(
      req.training.classWeights,
      names,
      `"${target.name}" label`,
    )) {
      issues.push({ path: formatPath(["training", "classWeights", key]), message });
    }
  }
  if (issues.length > 0) {
    throw validationError(
      issues,
      `Cannot train on dataset "${dataset.name}": ${issues[0]?.path} ${issues[0]?.message}.`,
    );
  }
  const { train, test, preprocessing, width } = fitted;
  const output = req.network.layers.at(-1)!;
  const sparse = fitted.task === "classification" && req.loss === "sparseCategoricalCrossentropy";
  const stored: TrainingDataInput = {
    split: "train",
    rows: train.rows,
    inputWidth: width,
    inputs: float32ToBytes(train.inputs),
  };
  if (sparse) stored.labels = int32ToBytes(train.labels!);
  else {
    const targets = trainingTargets(fitted, output.units);
    stored.targetWidth = targets.width;
    stored.targets = float32ToBytes(targets.values);
  }
  const data = [stored];
  if (test.rows > 0) {
    // Kept in the target's own terms: class indices, or values in its units.
    const split: TrainingDataInput = {
      split: "test",
      rows: test.rows,
      inputWidth: width,
      inputs: float32ToBytes(test.inputs),
    };
    if (test.labels) split.labels = int32ToBytes(test.labels);
    else {
      split.targetWidth = 1;
      split.targets = float32ToBytes(Float32Array.from(test.values!));
    }
    data.push(split);
  }
  const result: DatasetTraining = {
    inputs: width,
    preprocessing,
    labels: sparse,
    data,
    request: req,
  };
  if (req.training.classWeights !== undefined && train.labels) {
    result.classWeights = resolveClassWeights(req.training.classWeights, names, train.labels);
  }
  return result;
}

/** One-hot rows (softmax, or several sigmoids), a 0/1 column (one sigmoid), or scaled values. */
function trainingTargets(fitted: FittedDataset, units: number) {
  const { train, preprocessing } = fitted;
  const target = preprocessing.target;
  if (target.type === "numeric") {
    const values = Float32Array.from(train.values!, (y) => (y - target.center) / target.scale);
    return { width: 1, values };
  }
  return labelTargets(train.labels!, units);
}

function checkNetwork(req: ResolvedTrainRequest, fitted: FittedDataset, maxParameters: number) {
  const issues: FieldIssue[] = [];
  const { layers } = req.network;
  const last = layers.length - 1;
  const output = layers[last]!;
  const unitsPath = `network.layers[${last}].units`;
  const { width, preprocessing } = fitted;
  if (req.network.inputs !== undefined && req.network.inputs !== width) {
    issues.push({
      path: "network.inputs",
      message: `is ${req.network.inputs}, but the features encode to ${width} input columns (${describeWidth(preprocessing)}); omit it to have it derived`,
    });
  }
  const target = preprocessing.target;
  if (target.type === "categorical") {
    const k = target.classes.length;
    const classes = `${k} classes of "${target.name}" (${target.classes.join(", ")})`;
    if (req.loss === "mse" || req.loss === "mae") {
      issues.push({
        path: "loss",
        message: `${req.loss} is a regression loss; a classification of ${classes} needs sparseCategoricalCrossentropy or categoricalCrossentropy (softmax), or binaryCrossentropy (sigmoid)`,
      });
    } else if (output.activation === "softmax" && output.units !== k) {
      issues.push({ path: unitsPath, message: `must be ${k}, one per class: the ${classes}` });
    } else if (output.activation === "sigmoid" && output.units === 1 && k !== 2) {
      issues.push({
        path: unitsPath,
        message: `a single sigmoid unit tells two classes apart; use a softmax of ${k} units for the ${classes}`,
      });
    } else if (output.activation === "sigmoid" && output.units !== 1 && output.units !== k) {
      issues.push({ path: unitsPath, message: `must be 1 or ${k} for the ${classes}` });
    }
  } else {
    if (req.loss !== "mse" && req.loss !== "mae") {
      issues.push({
        path: "loss",
        message: `${req.loss} is a classification loss; "${target.name}" is numeric (regression): use mse or mae, or set task to classification`,
      });
    }
    if (output.units !== 1) {
      issues.push({
        path: unitsPath,
        message: `must be 1: the target "${target.name}" is one numeric column`,
      });
    }
  }
  const parameters = countParameters({ inputs: width, layers });
  if (parameters > maxParameters) {
    issues.push({
      path: "network",
      message: `has ${parameters} parameters (weights and biases) with ${width} inputs; the limit is ${maxParameters}`,
    });
  }
  return issues;
}

function describeWidth(preprocessing: Preprocessing): string {
  return preprocessing.features
    .map((f) => (f.type === "numeric" ? f.name : `${f.name}: ${f.categories.length} one-hot`))
    .join(", ");
}
