/**
 * Upload bodies other than CSV streams, shared by REST and gRPC: a body read whole under the
 * byte limit, and JSON records checked cell by cell into a table.
 */
import type { Readable } from "node:stream";
import {
  type FieldIssue,
  formatPath,
  malformedRequest,
  validationError,
} from "../platform/errors.ts";
import { tooManyBytes, tooManyColumns, tooManyRows, type UploadLimits } from "./csv.ts";
import { type RawTable, type RawValue, recordsToTable } from "./table.ts";

export async function readText(stream: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      stream.destroy();
      throw tooManyBytes(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function recordsFromJson(
  text: string,
  { maxRows, maxColumns }: Pick<UploadLimits, "maxRows" | "maxColumns">,
): RawTable {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw malformedRequest(`The body is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) {
    throw validationError(
      [{ path: "", message: "must be an array of records (objects keyed by column name)" }],
      "A JSON dataset is an array of records (objects keyed by column name).",
    );
  }
  if (value.length > maxRows) throw tooManyRows(maxRows);
  const issues: FieldIssue[] = [];
  // Counted before the table is built: each new key is a column of every record.
  const keys = new Set<string>();
  for (const record of value) {
    if (record === null || typeof record !== "object" || Array.isArray(record)) continue;
    for (const key of Object.keys(record)) keys.add(key);
    if (keys.size > maxColumns) throw tooManyColumns(maxColumns, keys.size);
  }
  value.forEach((record: unknown, i) => {
    if (issues.length >= 20) return;
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      issues.push({ path: `records[${i}]`, message: "must be an object keyed by column name" });
      return;
    }
    for (const [key, cell] of Object.entries(record)) {
      const t = typeof cell;
      if (cell !== null && t !== "string" && t !== "number" && t !== "boolean")
        issues.push({
          path: formatPath(["records", i, key]),
          message: "must be a number, a string, a boolean or null",
        });
    }
  });
  if (issues.length > 0) {
    throw validationError(issues, `Invalid dataset: ${issues[0]!.path} ${issues[0]!.message}.`);
  }
  return recordsToTable(value as Record<string, RawValue>[]);
}
