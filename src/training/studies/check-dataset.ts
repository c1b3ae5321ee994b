/**
 * What create checks against the dataset before anything is stored: the dataset exists, the
 * target and features are its columns with values (the same fit POST /train does, with the
 * study's seed and test split), the objective is a metric the target can give (accuracy for
 * classes, mae for a number), label smoothing only for classes, and every network the space
 * allows within MAX_PARAMETERS once the encoded width is known. Every refusal names the
 * study request's field.
 */
import { fitDataset } from "../../datasets/fit.ts";
import type { DatasetService } from "../../datasets/service.ts";
import { countParameters } from "../../engine/index.ts";
import { type FieldIssue, isAppError, validationError } from "../../platform/errors.ts";
import { defaultRecipe } from "../recipe.ts";
import { DEFAULT_TEST_SPLIT } from "../request.ts";
import type { StudyRequest } from "./schemas.ts";
import type { StoredDataShape } from "./stored.ts";

export interface DatasetLimits {
  maxParameters: number;
  maxInputs?: number | undefined;
  maxEncodedValues?: number | undefined;
}

/** The data's shape for the recipe, or a validationError naming the study's fields. */
export async function checkAgainstDataset(
  datasets: DatasetService,
  req: StudyRequest,
  seed: number,
  limits: DatasetLimits,
): Promise<StoredDataShape> {
  const dataset = await datasets.load(req.dataset).catch((error: unknown) => {
    if (isAppError(error) && error.code === "NOT_FOUND") return undefined;
    throw error;
  });
  if (!dataset) {
    throw validationError(
      [{ path: "dataset", message: `no dataset with id "${req.dataset}" exists` }],
      `No dataset "${req.dataset}" exists; upload it with POST /datasets first.`,
    );
  }
  const fitted = fitWithStudyPaths(dataset, req, seed, limits);
  const target = fitted.preprocessing.target;
  const shape: StoredDataShape = {
    rows: fitted.train.rows,
    features: fitted.width,
    classes: target.type === "categorical" ? target.classes.length : 0,
  };
  const issues = [
    ...objectiveIssues(req, target.name, shape.classes >= 2),
    ...networkIssues(req, shape, limits.maxParameters),
  ];
  if (issues.length > 0) {
    throw validationError(
      issues,
      `Cannot search on dataset "${dataset.name}": ${issues[0]!.path} ${issues[0]!.message}.`,
    );
  }
  return shape;
}

function fitWithStudyPaths(
  dataset: Parameters<typeof fitDataset>[0],
  req: StudyRequest,
  seed: number,
  limits: DatasetLimits,
) {
  try {
    return fitDataset(dataset, {
      target: req.target,
      features: req.features,
      testSplit: req.testSplit ?? DEFAULT_TEST_SPLIT,
      seed,
      options: req.preprocessing ?? { scaling: "standard", unknown: "error" },
      limits: {
        maxInputs: limits.maxInputs ?? Number.MAX_SAFE_INTEGER,
        maxEncodedValues: limits.maxEncodedValues ?? Number.MAX_SAFE_INTEGER,
      },
    });
  } catch (error) {
    // POST /train's paths, as the study request names the same fields.
    if (isAppError(error)) {
      for (const issue of error.errors) {
        if (issue.path === "training.testSplit") issue.path = "testSplit";
      }
    }
    throw error;
  }
}

function objectiveIssues(req: StudyRequest, target: string, classes: boolean): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const metric = req.objective.metric;
  if (!classes && metric.toLowerCase().endsWith("accuracy")) {
    issues.push({
      path: "objective.metric",
      message: `${metric} needs a classification target; "${target}" is numeric (a regression reports loss and mae)`,
    });
  }
  if (classes && metric.toLowerCase().endsWith("mae")) {
    issues.push({
      path: "objective.metric",
      message: `${metric} needs a numeric target; "${target}" has classes (a classification reports loss and accuracy)`,
    });
  }
  if (!classes && req.space.labelSmoothing !== undefined) {
    issues.push({
      path: "space.labelSmoothing",
      message: `applies to classification; "${target}" is numeric (regression, mse)`,
    });
  }
  return issues;
}

/** Every hidden-layer choice (or the recipe's layers) with the output, within the budget. */
function networkIssues(
  req: StudyRequest,
  shape: StoredDataShape,
  maxParameters: number,
): FieldIssue[] {
  const recipe = defaultRecipe(shape).network.layers;
  const output = recipe.at(-1)!;
  const options = req.space.layers?.choice ?? [recipe.slice(0, -1).map((l) => l.units)];
  const issues: FieldIssue[] = [];
  options.forEach((units, i) => {
    const layers = [...units.map((n) => ({ units: n })), { units: output.units }];
    const parameters = countParameters({ inputs: shape.features, layers });
    if (parameters > maxParameters) {
      issues.push({
        path: req.space.layers ? `space.layers.choice[${i}]` : "space.layers",
        message: `${req.space.layers ? "makes" : "the default layers make"} a network of ${parameters} parameters with ${shape.features} encoded inputs; the limit is ${maxParameters}`,
      });
    }
  });
  return issues;
}
