/**
 * A dataset -> the training request's rows: which columns, the seeded split into training and
 * test rows, the preprocessing fitted on the training rows only (src/versions/preprocessing/schema.ts),
 * and every row encoded by it. Every problem is reported with the path of the request field or
 * the dataset cell it comes from, before anything is stored.
 *
 * Fitted on the training rows only: numeric centers and scales, imputed values, a categorical
 * feature's categories. A test row with a category the training rows lack is encoded as all
 * zeros for evaluation (as the "zeros" policy would). The target's classes are the target
 * column's distinct values over the whole dataset, sorted: a class seen only among the test
 * rows still needs an output unit to be scored against, and a label list leaks no statistic.
 */

import { Random } from "../engine/index.ts";
import { type FieldIssue, formatPath, validationError } from "../platform/errors.ts";
import type { Imputation, PreprocessingOptions } from "../training/request.ts";
import { binShares } from "../versions/preprocessing/bins.ts";
import { encodeRows, type RawCell } from "../versions/preprocessing/encode.ts";
import {
  encodedWidth,
  type FeatureStatistics,
  type FeatureTransform,
  type NumericScaling,
  type Preprocessing,
  type TargetTransform,
} from "../versions/preprocessing/schema.ts";
import { type NumericStats, numericStats, type TypedColumn } from "./table.ts";

/** Sizes checked from the fitted categories, before a row is encoded. */
export interface EncodingLimits {
  /** The network's input width at most (MAX_UNITS, as for network.inputs). */
  maxInputs: number;
  /** Rows x encoded width at most, over both splits (MAX_ENCODED_VALUES). */
  maxEncodedValues: number;
}

export interface FitRequest {
  target: string;
  features?: string[] | undefined;
  task?: "classification" | "regression" | undefined;
  testSplit: number;
  seed: number;
  options: PreprocessingOptions;
  limits?: EncodingLimits;
}

export interface FittedDataset {
  preprocessing: Preprocessing;
  task: "classification" | "regression";
  width: number;
  train: EncodedRows;
  /** Empty (rows 0) when testSplit is 0. */
  test: EncodedRows;
}

export interface EncodedRows {
  rows: number;
  /** rows x width, the network's input rows. */
  inputs: Float32Array;
  /** Classification: the class index of each row. */
  labels?: Int32Array;
  /** Regression: the target in its own units. */
  values?: Float64Array;
}

const MAX_ISSUES = 20;

const sortStrings = (values: Iterable<string>) =>
  [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

function cell(column: TypedColumn, row: number): RawCell {
  if (column.type === "numeric") {
    const v = column.values[row] as number;
    return Number.isNaN(v) ? null : v;
  }
  const code = column.codes[row] as number;
  return code < 0 ? null : (column.categories[code] as string);
}

export function fitDataset(
  dataset: { name: string; rows: number; columns: TypedColumn[] },
  req: FitRequest,
): FittedDataset {
  const issues: FieldIssue[] = [];
  const fail = (): never => {
    throw validationError(
      issues,
      `Cannot train from dataset "${dataset.name}": ${issues[0]?.path} ${issues[0]?.message}.`,
    );
  };
  const byName = new Map(dataset.columns.map((c) => [c.name, c]));
  const names = dataset.columns.map((c) => c.name);
  const target = byName.get(req.target);
  if (!target) {
    issues.push({
      path: "target",
      message: `is not a column of dataset "${dataset.name}" (columns: ${names.join(", ")})`,
    });
  }
  const featureNames = req.features ?? names.filter((n) => n !== req.target);
  const seen = new Set<string>();
  req.features?.forEach((name, i) => {
    if (!byName.has(name))
      issues.push({
        path: `features[${i}]`,
        message: `"${name}" is not a column of dataset "${dataset.name}" (columns: ${names.join(", ")})`,
      });
    else if (name === req.target)
      issues.push({ path: `features[${i}]`, message: `"${name}" is the target` });
    else if (seen.has(name))
      issues.push({ path: `features[${i}]`, message: `"${name}" is listed twice` });
    seen.add(name);
  });
  if (featureNames.length === 0)
    issues.push({ path: "features", message: "leaves no column besides the target" });
  if (issues.length > 0 || !target) return fail();
  const features = featureNames.map((n) => byName.get(n) as TypedColumn);

  const task = req.task ?? (target.type === "categorical" ? "classification" : "regression");
  if (task === "regression" && target.type !== "numeric") {
    issues.push({
      path: "task",
      message: `regression needs a numeric target; "${target.name}" is categorical`,
    });
  }

  const impute = imputationOf(features, req.options.impute, issues);
  if (issues.length > 0) return fail();

  // Missing values: the target's are always an error, a feature's unless it is imputed.
  for (let r = 0; r < dataset.rows && issues.length < MAX_ISSUES; r++) {
    if (cell(target, r) === null)
      issues.push({
        path: formatPath(["rows", r, target.name]),
        message: "is missing; the target needs a value in every row",
      });
    for (const column of features)
      if (cell(column, r) === null && !impute.has(column.name) && issues.length < MAX_ISSUES)
        issues.push({
          path: formatPath(["rows", r, column.name]),
          message: "is missing; choose an imputation (preprocessing.impute) or fill it in",
        });
  }
  if (issues.length > 0) return fail();

  // A seeded shuffle: the first testRows of it are held back, the rest train in that order.
  const order = new Int32Array(dataset.rows);
  for (let i = 0; i < order.length; i++) order[i] = i;
  new Random(req.seed).shuffle(order);
  const testRows = Math.round(dataset.rows * req.testSplit);
  if (dataset.rows - testRows < 1) {
    issues.push({
      path: "training.testSplit",
      message: `leaves no training rows out of ${dataset.rows}`,
    });
    return fail();
  }
  const testOrder = order.subarray(0, testRows);
  const trainOrder = order.subarray(testRows);

  const transforms: FeatureTransform[] = features.map((column) =>
    fitFeature(column, trainOrder, req.options, impute.get(column.name), issues),
  );
  const targetTransform = fitTarget(target, task, trainOrder, req.options.scaling, issues);
  if (issues.length > 0) return fail();
  // One-hot columns multiply: a 5,000-category feature over 100k rows is 500M values. The width
  // is known from the fitted categories, so the check comes before anything is encoded.
  const width = encodedWidth(transforms);
  if (req.limits) checkEncodedSize(transforms, width, dataset.rows, req.limits, issues);
  if (issues.length > 0) return fail();
  const preprocessing: Preprocessing = {
    formatVersion: 1,
    features: transforms,
    target: targetTransform,
    statistics: transforms.map((t, i) => featureStatistics(t, features[i]!, trainOrder)),
  };
  // Test rows with categories unseen in training count as none of them.
  const forTest: Preprocessing = {
    ...preprocessing,
    features: transforms.map((f) => (f.type === "categorical" ? { ...f, unknown: "zeros" } : f)),
  };
  return {
    preprocessing,
    task,
    width,
    train: encodeSplit(preprocessing, features, target, trainOrder),
    test: encodeSplit(forTest, features, target, testOrder),
  };
}

function checkEncodedSize(
  transforms: FeatureTransform[],
  width: number,
  rows: number,
  limits: EncodingLimits,
  issues: FieldIssue[],
): void {
  const widest = transforms
    .filter((f) => f.type === "categorical")
    .sort((a, b) => b.categories.length - a.categories.length)
    .slice(0, 3)
    .map((f) => `${f.name}: ${f.categories.length} one-hot`)
    .join(", ");
  const why = widest ? ` (widest: ${widest})` : "";
  if (width > limits.maxInputs) {
    issues.push({
      path: "features",
      message: `encode to ${width} input columns${why}, more than the limit of ${limits.maxInputs} inputs (MAX_UNITS); leave out or group the widest categorical features`,
    });
  } else if (rows * width > limits.maxEncodedValues) {
    issues.push({
      path: "features",
      message: `encode to ${rows} rows x ${width} columns = ${rows * width} values${why}, more than the limit of ${limits.maxEncodedValues} (MAX_ENCODED_VALUES)`,
    });
  }
}

function imputationOf(
  features: TypedColumn[],
  option: PreprocessingOptions["impute"],
  issues: FieldIssue[],
): Map<string, Imputation> {
  const out = new Map<string, Imputation>();
  if (option === undefined) return out;
  if (typeof option === "string") {
    // "mean" fills a categorical feature with its most frequent category: it has no mean.
    for (const f of features) out.set(f.name, f.type === "numeric" ? option : "mostFrequent");
    return out;
  }
  const byName = new Map(features.map((f) => [f.name, f]));
  for (const [name, how] of Object.entries(option)) {
    const feature = byName.get(name);
    const path = formatPath(["preprocessing", "impute", name]);
    if (!feature)
      issues.push({ path, message: `"${name}" is not one of the features being trained on` });
    else if (how === "mean" && feature.type === "categorical")
      issues.push({
        path,
        message: `mean needs a numeric column; "${name}" is categorical (use mostFrequent)`,
      });
    else out.set(name, how);
  }
  return out;
}

function fitFeature(
  column: TypedColumn,
  rows: Int32Array,
  options: PreprocessingOptions,
  imputation: Imputation | undefined,
  issues: FieldIssue[],
): FeatureTransform {
  if (column.type === "categorical") {
    const counts = new Map<number, number>();
    for (const r of rows) {
      const code = column.codes[r] as number;
      if (code >= 0) counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    const categories = sortStrings([...counts.keys()].map((c) => column.categories[c] as string));
    if (categories.length === 0) {
      issues.push({
        path: formatPath(["features", column.name]),
        message: "has no values in the training rows",
      });
      return {
        name: column.name,
        type: "categorical",
        categories: ["?"],
        unknown: options.unknown,
      };
    }
    const transform: FeatureTransform = {
      name: column.name,
      type: "categorical",
      categories,
      unknown: options.unknown,
    };
    if (imputation !== undefined) {
      // The most frequent; on a tie, the first in sorted order.
      let best = categories[0] as string;
      let bestCount = -1;
      for (const category of categories) {
        const n = counts.get(column.categories.indexOf(category)) ?? 0;
        if (n > bestCount) {
          best = category;
          bestCount = n;
        }
      }
      transform.impute = best;
    }
    return transform;
  }
  const values: number[] = [];
  for (const r of rows) {
    const v = column.values[r] as number;
    if (!Number.isNaN(v)) values.push(v);
  }
  if (values.length === 0) {
    issues.push({
      path: formatPath(["features", column.name]),
      message: "has no values in the training rows",
    });
    return { name: column.name, type: "numeric", scaling: "none", center: 0, scale: 1 };
  }
  const sample = Float64Array.from(values);
  const stats = numericStats(column.name, sample);
  const { center, scale } = affine(stats, options.scaling, sample);
  const transform: FeatureTransform = {
    name: column.name,
    type: "numeric",
    scaling: options.scaling,
    center,
    scale,
  };
  if (options.clip) transform.clip = SMOOTH_CLIP;
  if (imputation === "mean") transform.impute = stats.mean as number;
  else if (imputation === "mostFrequent") transform.impute = mostFrequent(values);
  return transform;
}

function fitTarget(
  target: TypedColumn,
  task: "classification" | "regression",
  rows: Int32Array,
  scaling: NumericScaling,
  issues: FieldIssue[],
): TargetTransform {
  if (task === "classification") {
    const classes = sortStrings(
      new Set(
        Array.from(
          { length: target.type === "numeric" ? target.values.length : target.codes.length },
          (_, r) => String(cell(target, r)),
        ),
      ),
    );
    if (classes.length < 2)
      issues.push({
        path: "target",
        message: `"${target.name}" has only one class (${classes[0]}); a classifier needs two or more`,
      });
    return {
      name: target.name,
      type: "categorical",
      classes: classes.length < 2 ? ["?", "?"] : classes,
    };
  }
  const values =
    target.type === "numeric"
      ? Float64Array.from(rows, (r) => target.values[r] as number)
      : new Float64Array(0);
  const { center, scale } = affine(numericStats(target.name, values), scaling, values);
  return { name: target.name, type: "numeric", center, scale };
}

function mostFrequent(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0] as number;
  let bestCount = 0;
  for (const [v, n] of counts)
    if (n > bestCount || (n === bestCount && v < best)) [best, bestCount] = [v, n];
  return best;
}

/**
 * The contract's one affine form, from the training rows' statistics (the same as the dataset
 * view's); a constant or empty column gets scale 1 (it encodes as 0, not NaN).
 */
function affine(
  stats: NumericStats,
  scaling: NumericScaling,
  values: Float64Array,
): { center: number; scale: number } {
  if (scaling === "none" || stats.count === 0) return { center: 0, scale: 1 };
  if (scaling === "robust") {
    const sorted = Float64Array.from(values).sort();
    const iqr = quantile(sorted, 0.75) - quantile(sorted, 0.25);
    const spread = iqr > 0 ? iqr : (stats.std as number);
    return { center: quantile(sorted, 0.5), scale: spread > 0 ? spread : 1 };
  }
  const [center, spread] =
    scaling === "minmax"
      ? [stats.min as number, (stats.max as number) - (stats.min as number)]
      : [stats.mean as number, stats.std as number];
  return { center, scale: spread > 0 ? spread : 1 };
}

/** The q-quantile of sorted values, interpolated linearly (numpy's and pandas' default). */
export function quantile(sorted: Float64Array, q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** RealMLP's smooth-clipping constant: scaled values end near ±3. */
const SMOOTH_CLIP = 3;

function encodeSplit(
  preprocessing: Preprocessing,
  features: TypedColumn[],
  target: TypedColumn,
  order: Int32Array,
): EncodedRows {
  const raw = Array.from(order, (r) => features.map((f) => cell(f, r)));
  const inputs = encodeRows(preprocessing, raw, ["rows"]);
  const t = preprocessing.target;
  if (t.type === "categorical") {
    const labels = Int32Array.from(order, (r) => t.classes.indexOf(String(cell(target, r))));
    return { rows: order.length, inputs, labels };
  }
  const values = Float64Array.from(order, (r) => cell(target, r) as number);
  return { rows: order.length, inputs, values };
}

/** How a feature's training rows are spread: see featureStatisticsSchema. */
function featureStatistics(
  transform: FeatureTransform,
  column: TypedColumn,
  rows: Int32Array,
): FeatureStatistics {
  if (transform.type === "categorical" && column.type === "categorical") {
    const index = new Map(transform.categories.map((c, i) => [c, i]));
    const counts = new Array<number>(transform.categories.length).fill(0);
    let count = 0;
    for (const r of rows) {
      const code = column.codes[r]!;
      if (code < 0) continue;
      const at = index.get(column.categories[code]!);
      if (at !== undefined) counts[at]!++;
      count++;
    }
    let mode = 0;
    for (let i = 1; i < counts.length; i++) if (counts[i]! > counts[mode]!) mode = i;
    return {
      name: transform.name,
      type: "categorical",
      count,
      mode: transform.categories[mode] ?? "",
      shares: counts.map((n) => (count > 0 ? n / count : 0)),
    };
  }
  const values: number[] = [];
  if (column.type === "numeric")
    for (const r of rows) {
      const v = column.values[r]!;
      if (!Number.isNaN(v)) values.push(v);
    }
  values.sort((a, b) => a - b);
  const n = values.length;
  const quantiles: number[] = [];
  for (let q = 1; q < 10; q++) {
    // Linear interpolation between the closest ranks (numpy's default).
    const at = (q / 10) * (n - 1);
    const lo = Math.floor(at);
    const value =
      n === 0 ? 0 : values[lo]! + (values[Math.min(lo + 1, n - 1)]! - values[lo]!) * (at - lo);
    quantiles.push(value);
  }
  const shares = binShares(quantiles, values);
  let mean = 0;
  for (const v of values) mean += v;
  return {
    name: transform.name,
    type: "numeric",
    count: n,
    mean: n > 0 ? mean / n : 0,
    quantiles,
    shares,
  };
}
