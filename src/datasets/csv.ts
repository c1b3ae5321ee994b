/**
 * A CSV upload read as it streams in (csv-parse): a header row, then records. Quoted fields
 * (with commas, quotes and newlines inside), CRLF or LF line ends and a UTF-8 byte order mark
 * are all the parser's; what is ours is the limits (bytes and rows, checked while reading, so an
 * upload past them stops early with a 413) and the errors, which name the row and the line.
 */
import type { Readable } from "node:stream";
import { CsvError, parse } from "csv-parse";
import { AppError, validationError } from "../platform/errors.ts";
import type { RawTable } from "./table.ts";

export interface UploadLimits {
  maxBytes: number;
  maxRows: number;
  /** Checked on the header, before a cell is typed or a byte stored. */
  maxColumns: number;
}

export function tooManyBytes(maxBytes: number): AppError {
  return new AppError(
    "PAYLOAD_TOO_LARGE",
    `The dataset is larger than the limit of ${maxBytes} bytes (DATASET_MAX_BYTES).`,
  );
}

export function tooManyRows(maxRows: number): AppError {
  return new AppError(
    "PAYLOAD_TOO_LARGE",
    `The dataset has more than ${maxRows} rows, the limit (DATASET_MAX_ROWS).`,
  );
}

export function tooManyColumns(maxColumns: number, columns: number): AppError {
  return new AppError(
    "PAYLOAD_TOO_LARGE",
    `The dataset has ${columns} columns, more than the limit of ${maxColumns} (DATASET_MAX_COLUMNS).`,
  );
}

/**
 * Cells that mean "no value" in a CSV upload unless the upload names its own (`missing=`): an
 * empty cell always does. A column of numbers and these is numeric with missing values.
 */
export const DEFAULT_MISSING_MARKERS: readonly string[] = ["NA", "N/A", "null", "NaN", "?"];

interface Parsed {
  record: string[];
  info: { lines: number };
}

/**
 * Reads the whole upload into a header and string cells (an empty cell, or one of `missing`,
 * is a missing value).
 * Row i of the result is record i after the header; errors name it as `rows[i]`, with its line.
 */
export async function readCsv(
  source: Readable,
  limits: UploadLimits,
  missing: readonly string[] = DEFAULT_MISSING_MARKERS,
): Promise<RawTable> {
  const markers = new Set(missing);
  let bytes = 0;
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true });
  // Counted on the way in: the parser never sees a byte past the limit.
  source.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > limits.maxBytes) {
      source.unpipe(parser);
      source.resume();
      parser.destroy(tooManyBytes(limits.maxBytes));
    }
  });
  source.on("error", (error) => parser.destroy(error));
  source.pipe(parser);

  let header: string[] | undefined;
  const rows: string[][] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<Parsed>) {
      if (!header) {
        if (record.length > limits.maxColumns)
          throw tooManyColumns(limits.maxColumns, record.length);
        header = record;
        continue;
      }
      if (record.length !== header.length) {
        throw validationError(
          [
            {
              path: `rows[${rows.length}]`,
              message: `has ${record.length} fields but the header has ${header.length} (line ${info.lines})`,
            },
          ],
          `Row ${rows.length + 1} (line ${info.lines}) has ${record.length} fields; the header has ${header.length}.`,
        );
      }
      if (rows.length >= limits.maxRows) throw tooManyRows(limits.maxRows);
      // A marker becomes the empty cell, which every later step reads as missing.
      if (markers.size > 0) {
        for (let i = 0; i < record.length; i++) if (markers.has(record[i]!.trim())) record[i] = "";
      }
      rows.push(record);
    }
  } catch (error) {
    source.unpipe(parser);
    source.resume();
    if (error instanceof CsvError) {
      // Unclosed quotes, a quote inside an unquoted field: the parser's own words, with its line.
      const line = (error as CsvError & { lines?: number }).lines;
      throw validationError(
        [{ path: `rows[${rows.length}]`, message: `is not valid CSV: ${error.message}` }],
        `The CSV could not be read${line ? ` at line ${line}` : ""}: ${error.message}`,
      );
    }
    throw error;
  }
  if (!header) {
    throw validationError(
      [{ path: "file", message: "is empty; it needs a header row and at least one data row" }],
      "The CSV is empty; it needs a header row and at least one data row.",
    );
  }
  return { header, rows, source: "csv" };
}
