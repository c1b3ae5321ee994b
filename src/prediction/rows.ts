/** Rows in and out of a version's network: checks, packing, and classes from outputs. */
import type { FieldIssue } from "../platform/errors.ts";
import type { TensorPrediction } from "./contract.ts";
import type { LoadedModel } from "./model-cache.ts";
import { packRows } from "./packed-rows.ts";
import type { PredictRequest } from "./request.ts";

/** Rows of numbers (the schema has made each as wide as the first) packed row-major. */
export function pack(numeric: readonly number[][]): {
  values: Float32Array;
  rows: number;
  width: number;
} {
  const width = numeric[0]?.length ?? 0;
  return { values: packRows(numeric, width), rows: numeric.length, width };
}

/** What a version without preprocessing says of rows that are not all numbers. */
export function numericRowIssues(rows: PredictRequest["inputs"], model: LoadedModel): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (let i = 0; i < rows.length && issues.length < 10; i++) {
    const row = rows[i]!;
    if (!Array.isArray(row)) {
      issues.push({
        path: `inputs[${i}]`,
        message: `is keyed by name, but version ${model.version} of model "${model.model}" was trained on numbers without a dataset: send an array of ${model.network.inputs} numbers`,
      });
      continue;
    }
    for (let j = 0; j < row.length && issues.length < 10; j++) {
      const x = row[j];
      if (typeof x !== "number")
        issues.push({
          path: `inputs[${i}][${j}]`,
          message: `Invalid input: expected number, received ${x === null ? "null" : typeof x}`,
        });
    }
  }
  return issues;
}

/** The network's outputs as a prediction, with each row's class for a classifier. */
export function withClasses(model: LoadedModel, rows: number, y: Float32Array): TensorPrediction {
  const units = model.network.outputs;
  const result: TensorPrediction = {
    model: model.model,
    version: model.version,
    rows,
    units,
    outputs: y,
  };
  if (model.classes === "binary") {
    const classes: number[] = new Array(rows);
    for (let r = 0; r < rows; r++) classes[r] = y[r * units]! >= 0.5 ? 1 : 0;
    result.classes = classes;
  } else if (model.classes === "multiclass") {
    const classes: number[] = new Array(rows);
    for (let r = 0; r < rows; r++) classes[r] = argmax(y, r * units, units);
    result.classes = classes;
  }
  return result;
}

function argmax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i]! > values[offset + best]!) best = i;
  return best;
}
