/**
 * A batch job's result rows: stored as NDJSON (one JSON object a row, passthrough columns first,
 * then the prediction), and turned into CSV when a client asks for it. The CSV columns follow
 * from the version alone, so every chunk is written the same way without looking at the others.
 */
import type { RawCell } from "../../versions/preprocessing/encode.ts";
import type { Preprocessing } from "../../versions/preprocessing/schema.ts";
import type { PredictResponse } from "../request.ts";

/** Names a passthrough column cannot take: they are the prediction's own fields. */
export const PREDICTION_FIELDS = ["label", "probabilities", "value", "outputs", "class"] as const;

/**
 * NDJSON lines for one chunk: `passthrough[i][r]` is passthrough column i of row r, and the
 * prediction's fields follow: label and probabilities (a classifier with preprocessing), value
 * (a regressor with preprocessing), or outputs and class (a version trained on numbers).
 */
export function resultLines(
  names: readonly string[],
  passthrough: readonly RawCell[][],
  response: PredictResponse,
): string {
  const rows = response.outputs.length;
  const lines: string[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const record: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) record[names[i]!] = passthrough[i]![r] ?? null;
    const prediction = response.predictions?.[r];
    if (prediction) Object.assign(record, prediction);
    else {
      record.outputs = response.outputs[r];
      if (response.classes) record.class = response.classes[r];
    }
    lines[r] = JSON.stringify(record);
  }
  return `${lines.join("\n")}\n`;
}

/** The CSV header of a version's results, and how to read each column from a result record. */
export interface CsvLayout {
  header: string[];
  cells(record: Record<string, unknown>): unknown[];
}

/** `sample` is any result record of the job: a version without preprocessing is read from it. */
export function csvLayout(
  passthrough: readonly string[],
  preprocessing: Preprocessing | null,
  sample: Record<string, unknown>,
): CsvLayout {
  const first = (record: Record<string, unknown>) => passthrough.map((name) => record[name]);
  const target = preprocessing?.target;
  if (target?.type === "categorical") {
    const { classes } = target;
    return {
      header: [...passthrough, "label", ...classes.map((c) => `probability_${c}`)],
      cells: (record) => {
        const p = record.probabilities as Record<string, number>;
        return [...first(record), record.label, ...classes.map((c) => p[c])];
      },
    };
  }
  if (target?.type === "numeric") {
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
