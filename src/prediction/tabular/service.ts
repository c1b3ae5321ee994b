/**
 * Rows as a table: a CSV body for POST /predict, or JSON rows keyed by name that carry columns
 * besides the features (the target, ids). Columns named in `passthrough` are taken out of the
 * rows and given back beside each prediction; with `ignoreExtraColumns` any other column that
 * is not a feature is dropped; the feature columns then go to the prediction service, pinned to
 * the version looked up here, so the rows are shaped for the version that answers.
 */
import type pg from "pg";
import { type FieldIssue, formatPath, validationError } from "../../platform/errors.ts";
import { parseNumber, type RawCell } from "../../versions/preprocessing/encode.ts";
import { PREDICTION_FIELDS } from "../batch/results.ts";
import type { PredictionService } from "../contract.ts";
import type { PredictResponse, PredictRow } from "../request.ts";
import { lookupVersion } from "./version-lookup.ts";

export interface TablePredictRequest {
  model: string;
  version?: number;
  /** Pin an alias instead; with neither, the alias production, else the newest ready version. */
  alias?: string;
  /** Rows keyed by column name (a CSV's records keyed by its header). */
  rows: readonly Readonly<Record<string, RawCell>>[];
  /** A CSV's header: its columns in order (errors then name `header[i]` and `rows[i]`). */
  header?: readonly string[];
  passthrough: readonly string[];
  ignoreExtraColumns: boolean;
}

export interface TablePrediction {
  response: PredictResponse;
  passthrough: readonly string[];
  /** passthroughValues[i][r]: passthrough column i of row r. */
  passthroughValues: RawCell[][];
}

export interface TablePredictionService {
  predict(req: TablePredictRequest): Promise<TablePrediction>;
}

export function createTablePredictionService(deps: {
  pool: pg.Pool;
  prediction: PredictionService;
}): TablePredictionService {
  return {
    async predict(req) {
      const csv = req.header !== undefined;
      const rowPath = (r: number, column?: string) =>
        formatPath(
          column === undefined
            ? [csv ? "rows" : "inputs", r]
            : [csv ? "rows" : "inputs", r, column],
        );
      const version = await lookupVersion(deps.pool, req.model, req);
      const issues: FieldIssue[] = [];
      const columns = req.header ?? Object.keys(req.rows[0] ?? {});
      const known = new Set(columns);
      req.passthrough.forEach((name, i) => {
        if ((PREDICTION_FIELDS as readonly string[]).includes(name))
          issues.push({
            path: `passthrough[${i}]`,
            message: `"${name}" is the name of a prediction field`,
          });
        else if (!known.has(name))
          issues.push({
            path: `passthrough[${i}]`,
            message: `"${name}" is not a column of the rows (columns: ${columns.join(", ")})`,
          });
      });
      if (issues.length > 0) throw validationError(issues);

      const kept = new Set(req.passthrough);
      const features = version.preprocessing?.features.map((f) => f.name);
      const featureSet = new Set(features);
      const inputs: PredictRow[] = new Array(req.rows.length);
      for (let r = 0; r < req.rows.length && issues.length < 20; r++) {
        const row = req.rows[r]!;
        if (features) {
          const named: Record<string, RawCell> = {};
          for (const [key, cell] of Object.entries(row)) {
            if (featureSet.has(key)) named[key] = cell;
            else if (!kept.has(key) && !req.ignoreExtraColumns)
              issues.push({
                path: rowPath(r, key),
                message: `is not a feature of version ${version.version} (features: ${features.join(", ")}); name it in passthrough or set ignoreExtraColumns`,
              });
          }
          inputs[r] = named as PredictRow;
        } else {
          // A version trained on numbers: the other columns, in order, are its input row.
          const numbers: number[] = [];
          for (const name of columns) {
            if (kept.has(name)) continue;
            const cell = row[name];
            const value = typeof cell === "string" ? parseNumber(cell) : cell;
            if (typeof value !== "number")
              issues.push({
                path: rowPath(r, name),
                message: `must be a number, got ${JSON.stringify(cell ?? null)}`,
              });
            else numbers.push(value);
          }
          inputs[r] = numbers;
        }
      }
      if (issues.length > 0) throw validationError(issues);
      let response: PredictResponse;
      try {
        response = await deps.prediction.predict({
          model: req.model,
          version: version.version,
          inputs,
        });
      } catch (error) {
        // The service names rows as /predict's JSON has them; a CSV's are `rows[i]`.
        if (csv && error instanceof Error && "errors" in error && Array.isArray(error.errors)) {
          for (const issue of error.errors as FieldIssue[])
            issue.path = issue.path.replace(/^inputs\[/, "rows[");
        }
        throw error;
      }
      return {
        response,
        passthrough: req.passthrough,
        passthroughValues: req.passthrough.map((name) => req.rows.map((row) => row[name] ?? null)),
      };
    },
  };
}
