/**
 * The baseline explanations are measured from: a row of the training data's means (numeric
 * features) and modes (categorical ones), taken from the statistics stored with the version's
 * preprocessing (older versions: the imputed value, or the center of standard scaling, which is
 * the mean). A request may name its own values for any features; a version without
 * preprocessing takes a row of numbers, zeros by default.
 */
import { type FieldIssue, formatPath, validationError } from "../../platform/errors.ts";
import { encodeRows, type RawCell } from "../../versions/preprocessing/encode.ts";
import type { Preprocessing } from "../../versions/preprocessing/schema.ts";

export type StatedBaseline = Record<string, number | string> | number[];

export interface Baseline {
  /** The network's input row. */
  encoded: Float64Array;
  /** The baseline as the request would write it, stated in the response. */
  stated: StatedBaseline;
}

export function baselineFor(
  preprocessing: Preprocessing | null,
  inputs: number,
  version: number,
  given: unknown,
): Baseline {
  const issues: FieldIssue[] = [];
  if (!preprocessing) {
    if (given === undefined)
      return { encoded: new Float64Array(inputs), stated: new Array(inputs).fill(0) };
    if (
      !Array.isArray(given) ||
      given.length !== inputs ||
      !given.every((v) => typeof v === "number" && Number.isFinite(v))
    )
      throw validationError([
        {
          path: "baseline",
          message: `must be an array of ${inputs} finite numbers: version ${version} was trained on numbers without a dataset`,
        },
      ]);
    return { encoded: Float64Array.from(given as number[]), stated: given as number[] };
  }

  const features = preprocessing.features;
  let overrides: Record<string, unknown> = {};
  if (given !== undefined) {
    if (given === null || typeof given !== "object" || Array.isArray(given))
      throw validationError([
        { path: "baseline", message: "must be an object of feature values keyed by feature name" },
      ]);
    overrides = given as Record<string, unknown>;
    const known = new Set(features.map((f) => f.name));
    for (const name of Object.keys(overrides))
      if (!known.has(name))
        issues.push({
          path: formatPath(["baseline", name]),
          message: `is not a feature of version ${version} (features: ${[...known].join(", ")})`,
        });
  }
  const stated: Record<string, number | string> = {};
  features.forEach((feature, i) => {
    const path = formatPath(["baseline", feature.name]);
    const value = overrides[feature.name];
    const statistics = preprocessing.statistics?.[i];
    if (feature.type === "numeric") {
      if (value !== undefined) {
        if (typeof value !== "number" || !Number.isFinite(value))
          issues.push({ path, message: `must be a finite number, got ${JSON.stringify(value)}` });
        else stated[feature.name] = value;
        return;
      }
      const mean =
        statistics?.type === "numeric"
          ? statistics.mean
          : (feature.impute ?? (feature.scaling === "standard" ? feature.center : undefined));
      if (mean === undefined)
        issues.push({
          path,
          message: `has no stored training mean in version ${version}; give its baseline value`,
        });
      else stated[feature.name] = mean;
      return;
    }
    if (value !== undefined) {
      if (typeof value !== "string" || !feature.categories.includes(value))
        issues.push({
          path,
          message: `must be one of the categories seen in training (${feature.categories.map((c) => JSON.stringify(c)).join(", ")}), got ${JSON.stringify(value)}`,
        });
      else stated[feature.name] = value;
      return;
    }
    const mode = statistics?.type === "categorical" ? statistics.mode : feature.impute;
    if (mode === undefined)
      issues.push({
        path,
        message: `has no stored training mode in version ${version}; give its baseline category`,
      });
    else stated[feature.name] = mode;
  });
  if (issues.length > 0)
    throw validationError(issues, `Invalid baseline: ${issues[0]!.path} ${issues[0]!.message}.`);
  const row = stated as Record<string, RawCell>;
  return { encoded: Float64Array.from(encodeRows(preprocessing, [row], ["baseline"])), stated };
}
