/**
 * A table as uploaded (CSV strings or JSON record values) -> typed columns with statistics, in
 * the compact form they are stored in: numeric columns as Float64 with NaN for a missing cell,
 * categorical ones as a dictionary (first-appearance order) and Int32 codes, -1 for missing.
 */
import { type FieldIssue, formatPath, validationError } from "../platform/errors.ts";
import { hasNul, NUL_MESSAGE } from "../platform/validation/common.ts";
import { isMissing, parseNumber, type RawCell } from "../versions/preprocessing/encode.ts";
import type { ColumnType, DatasetColumnView } from "./schemas.ts";

/** A cell as uploaded: the same cells a prediction takes. */
export type RawValue = RawCell;

export interface RawTable {
  header: string[];
  /** One array per data row, in header order. */
  rows: RawValue[][];
  /** How errors name a row: `rows[i]` for CSV (data row i after the header), `records[i]` for JSON. */
  source: "csv" | "json";
}

export type TypedColumn =
  | { name: string; type: "numeric"; values: Float64Array }
  | { name: string; type: "categorical"; categories: string[]; codes: Int32Array };

export interface BuiltTable {
  rows: number;
  columns: TypedColumn[];
  views: DatasetColumnView[];
}

const MAX_ISSUES = 20;

/** The number a cell holds, or undefined when it holds none; NaN for a missing cell. */
function toNumber(cell: RawValue): number | undefined {
  if (isMissing(cell)) return Number.NaN;
  if (typeof cell === "number") return Number.isFinite(cell) ? cell : undefined;
  return typeof cell === "string" ? parseNumber(cell) : undefined;
}

/** JSON records -> a table: columns in order of first appearance, an absent key is missing. */
export function recordsToTable(records: readonly Record<string, RawValue>[]): RawTable {
  const header: string[] = [];
  const seen = new Set<string>();
  for (const record of records)
    for (const key of Object.keys(record))
      if (!seen.has(key)) {
        seen.add(key);
        header.push(key);
      }
  return { header, rows: records.map((r) => header.map((name) => r[name])), source: "json" };
}

export function buildTable(
  table: RawTable,
  types: Readonly<Record<string, ColumnType>> = {},
): BuiltTable {
  const { header, rows, source } = table;
  const issues: FieldIssue[] = [];
  const seen = new Map<string, number>();
  header.forEach((name, i) => {
    if (hasNul(name)) issues.push({ path: `header[${i}]`, message: NUL_MESSAGE });
    else if (name.trim() === "")
      issues.push({ path: `header[${i}]`, message: "is empty; every column needs a name" });
    else if (seen.has(name))
      issues.push({
        path: `header[${i}]`,
        message: `"${name}" is also the name of column ${seen.get(name)}; column names must be unique`,
      });
    else seen.set(name, i);
  });
  for (const name of Object.keys(types))
    if (!seen.has(name))
      issues.push({
        path: formatPath(["types", name]),
        message: `is not a column of the dataset (columns: ${header.join(", ")})`,
      });
  if (issues.length > 0) throw validationError(issues, `Invalid dataset: ${describe(issues[0]!)}.`);
  if (rows.length === 0) {
    throw validationError(
      [{ path: source === "csv" ? "rows" : "records", message: "has no data rows" }],
      source === "csv"
        ? "The CSV has a header row but no data rows."
        : "The dataset has no records.",
    );
  }

  const columns: TypedColumn[] = [];
  const views: DatasetColumnView[] = [];
  for (let c = 0; c < header.length; c++) {
    const name = header[c] as string;
    const declared = types[name];
    const numbers = new Float64Array(rows.length);
    let numeric = declared !== "categorical";
    for (let r = 0; r < rows.length && numeric; r++) {
      const value = toNumber(rows[r]![c]);
      if (value !== undefined) {
        numbers[r] = value;
        continue;
      }
      if (declared !== "numeric") numeric = false;
      else if (issues.length < MAX_ISSUES) {
        issues.push({
          path: formatPath([source === "csv" ? "rows" : "records", r, name]),
          message: `is ${JSON.stringify(rows[r]![c])}, not a number (column "${name}" is declared numeric)`,
        });
      }
    }
    if (numeric) {
      columns.push({ name, type: "numeric", values: numbers });
      views.push(numericStats(name, numbers));
    } else {
      const column = categorical(name, rows, c, source);
      columns.push(column);
      views.push(categoricalStats(column));
    }
  }
  if (issues.length > 0) throw validationError(issues, `Invalid dataset: ${describe(issues[0]!)}.`);
  return { rows: rows.length, columns, views };
}

function describe(issue: FieldIssue): string {
  return `${issue.path} ${issue.message}`;
}

function categorical(
  name: string,
  rows: readonly RawValue[][],
  c: number,
  source: RawTable["source"],
): Extract<TypedColumn, { type: "categorical" }> {
  const index = new Map<string, number>();
  const categories: string[] = [];
  const codes = new Int32Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const cell = rows[r]![c];
    if (isMissing(cell)) {
      codes[r] = -1;
      continue;
    }
    const value = String(cell);
    let code = index.get(value);
    if (code === undefined) {
      if (hasNul(value)) {
        const path = formatPath([source === "csv" ? "rows" : "records", r, name]);
        throw validationError(
          [{ path, message: NUL_MESSAGE }],
          `Invalid dataset: ${path} ${NUL_MESSAGE}.`,
        );
      }
      code = categories.length;
      index.set(value, code);
      categories.push(value);
    }
    codes[r] = code;
  }
  return { name, type: "categorical", categories, codes };
}

export type NumericStats = Extract<DatasetColumnView, { type: "numeric" }>;

/**
 * Count, missing (NaN), min, max, mean and population std of a numeric column. When the sum or
 * the squares overflow (a column of 1e308 had a null mean), they are computed again on the
 * values divided by the largest magnitude, and scaled back.
 */
export function numericStats(name: string, values: Float64Array): NumericStats {
  let count = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let mean: number | null = null;
  let std: number | null = null;
  if (count > 0) {
    // Exact as before for ordinary values; scaled only when the sum or squares overflow.
    let moments = meanAndStd(values, count, 1);
    if (!Number.isFinite(moments.mean) || !Number.isFinite(moments.std)) {
      moments = meanAndStd(values, count, Math.max(Math.abs(min), Math.abs(max)));
    }
    // The mean lies within [min, max]; rounding must not put it a hair outside.
    mean = Math.min(max, Math.max(min, moments.mean));
    std = moments.std;
  }
  return {
    name,
    type: "numeric",
    count,
    missing: values.length - count,
    min: count > 0 ? min : null,
    max: count > 0 ? max : null,
    mean,
    std,
  };
}

/** Two passes over values / scale, scaled back: the mean, then the population deviation. */
function meanAndStd(values: Float64Array, count: number, scale: number) {
  let sum = 0;
  for (const v of values) if (!Number.isNaN(v)) sum += v / scale;
  const mean = sum / count;
  let squares = 0;
  for (const v of values) if (!Number.isNaN(v)) squares += (v / scale - mean) ** 2;
  return { mean: mean * scale, std: Math.sqrt(squares / count) * scale };
}

function categoricalStats(column: Extract<TypedColumn, { type: "categorical" }>) {
  const counts = new Array<number>(column.categories.length).fill(0);
  let missing = 0;
  for (const code of column.codes) {
    if (code < 0) missing++;
    else counts[code]!++;
  }
  return {
    name: column.name,
    type: "categorical" as const,
    count: column.codes.length - missing,
    missing,
    categories: column.categories.map((value, i) => ({ value, count: counts[i]! })),
  };
}
