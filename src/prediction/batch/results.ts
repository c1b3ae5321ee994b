/**
 * A batch job's result rows: stored as NDJSON (one JSON object a row, passthrough columns first,
 * then the prediction), and turned into CSV when a client asks for it. The CSV columns follow
 * from the version alone, so every chunk is written the same way without looking at the others.
 */
import type { RawCell } from "../../versions/preprocessing/encode.ts";
import type { PredictResponse } from "../request.ts";

/** Names a passthrough column cannot take: they are the prediction's own fields. */
export const PREDICTION_FIELDS = ["label", "probabilities", "value", "outputs", "class"] as const;

/**
 * One result record a row: `passthrough[i][r]` is passthrough column i of row r, and the
 * prediction's fields follow: label and probabilities (a classifier with preprocessing), value
 * (a regressor with preprocessing), or outputs and class (a version trained on numbers).
 */
export function resultRecords(
  names: readonly string[],
  passthrough: readonly (readonly RawCell[])[],
  response: PredictResponse,
): Record<string, unknown>[] {
  const rows = response.outputs.length;
  const out: Record<string, unknown>[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const record: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) record[names[i]!] = passthrough[i]![r] ?? null;
    const prediction = response.predictions?.[r];
    if (prediction) Object.assign(record, prediction);
    else {
      record.outputs = response.outputs[r];
      if (response.classes) record.class = response.classes[r];
    }
    const explanation = response.explanations?.[r];
    if (explanation) record.attributions = explanation.attributions;
    out[r] = record;
  }
  return out;
}

/** The same records as NDJSON, a line each: what a batch job stores per chunk. */
export function resultLines(
  names: readonly string[],
  passthrough: readonly (readonly RawCell[])[],
  response: PredictResponse,
): string {
  let out = "";
  for (const record of resultRecords(names, passthrough, response))
    out += `${JSON.stringify(record)}\n`;
  return out;
}

/** The CSV header of a version's results, and how to read each column from a result record. */
export interface CsvLayout {
  header: string[];
  cells(record: Record<string, unknown>): unknown[];
}

/**
 * The CSV columns of result records like `sample` (every record of one version has the same
 * fields): passthrough columns, then label and probability_<class> in the version's class
 * order, or value, or output_<i> and class.
 */
export function csvLayout(
  passthrough: readonly string[],
  sample: Record<string, unknown>,
): CsvLayout {
  const layout = predictionLayout(passthrough, sample);
  if (!("attributions" in sample)) return layout;
  // With explanations: attribution_<feature> (or attribution_<index>) after the prediction.
  const keys = Object.keys(sample.attributions as object);
  return {
    header: [...layout.header, ...keys.map((k) => `attribution_${k}`)],
    cells: (record) => {
      const a = record.attributions as Record<string, number>;
      return [...layout.cells(record), ...keys.map((k) => a[k])];
    },
  };
}

function predictionLayout(
  passthrough: readonly string[],
  sample: Record<string, unknown>,
): CsvLayout {
  const first = (record: Record<string, unknown>) => passthrough.map((name) => record[name]);
  if ("label" in sample) {
    const classes = Object.keys(sample.probabilities as Record<string, number>);
    return {
      header: [...passthrough, "label", ...classes.map((c) => `probability_${c}`)],
      cells: (record) => {
        const p = record.probabilities as Record<string, number>;
        return [...first(record), record.label, ...classes.map((c) => p[c])];
      },
    };
  }
  if ("value" in sample) {
    return {
      header: [...passthrough, "value"],
      cells: (record) => [...first(record), record.value],
    };
  }
  const units = Array.isArray(sample.outputs) ? sample.outputs.length : 0;
  const classifier = "class" in sample;
  const outputs = Array.from({ length: units }, (_, u) => `output_${u}`);
  return {
    header: [...passthrough, ...outputs, ...(classifier ? ["class"] : [])],
    cells: (record) => [
      ...first(record),
      ...(record.outputs as number[]),
      ...(classifier ? [record.class] : []),
    ],
  };
}

/** Records as one CSV text with a header row (CRLF line ends). */
export function recordsToCsv(
  passthrough: readonly string[],
  rows: readonly Record<string, unknown>[],
): string {
  if (rows.length === 0) return csvLine(passthrough);
  const layout = csvLayout(passthrough, rows[0]!);
  let out = csvLine(layout.header);
  for (const record of rows) out += csvLine(layout.cells(record));
  return out;
}

/** One CSV field, RFC 4180: quoted when it holds a comma, a quote, a line break or edge spaces. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

/** Each result record of a chunk's NDJSON. */
export function* records(ndjson: string): Generator<Record<string, unknown>> {
  for (const line of ndjson.split("\n"))
    if (line !== "") yield JSON.parse(line) as Record<string, unknown>;
}
