/**
 * A dataset's `columns` JSON: the column views (name, type, statistics) in upload order. Written
 * as `{ formatVersion: 1, columns: [...] }`; a row written before the format version is the bare
 * array and reads as version 1.
 */
import { z } from "zod";
import type { Prisma } from "../generated/prisma/client.ts";
import { STORED_FORMAT_VERSION, storedColumn, toStoredJson } from "../platform/db/stored-json.ts";
import { type DatasetColumnView, datasetColumnSchema } from "./schemas.ts";

export const storedDatasetColumns = z
  .preprocess(
    (value) =>
      Array.isArray(value) ? { formatVersion: STORED_FORMAT_VERSION, columns: value } : value,
    storedColumn(z.object({ columns: z.array(datasetColumnSchema) })),
  )
  .transform((stored) => stored.columns);

export function toStoredColumns(columns: readonly DatasetColumnView[]): Prisma.InputJsonValue {
  return toStoredJson({ columns });
}
