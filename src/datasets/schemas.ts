/**
 * Datasets: uploaded tables (CSV or JSON records) with a column schema and statistics. A
 * column is numeric when every non-missing cell is a finite number, categorical otherwise,
 * unless the upload says which (`types`). A missing cell is a blank CSV field, or null or an
 * absent key in a JSON record.
 */
import { z } from "zod";
import {
  hasNul,
  isoDateTime,
  NUL_MESSAGE,
  strictObject,
  uuid,
} from "../platform/validation/common.ts";

export const COLUMN_TYPES = ["numeric", "categorical"] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export const numericColumnSchema = z.object({
  name: z.string(),
  type: z.literal("numeric"),
  /** Cells with a value. */
  count: z.int(),
  missing: z.int(),
  /** null when every cell is missing. */
  min: z.number().nullable(),
  max: z.number().nullable(),
  mean: z.number().nullable(),
  /** Population standard deviation (divided by count), as standard scaling uses it. */
  std: z.number().nullable(),
});

export const categoricalColumnSchema = z.object({
  name: z.string(),
  type: z.literal("categorical"),
  count: z.int(),
  missing: z.int(),
  /** In order of first appearance; the stored codes index this list. */
  categories: z.array(z.object({ value: z.string(), count: z.int() })),
});

export const datasetColumnSchema = z
  .discriminatedUnion("type", [numericColumnSchema, categoricalColumnSchema])
  .meta({ id: "DatasetColumn" });
export type DatasetColumnView = z.output<typeof datasetColumnSchema>;

export const datasetSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    rows: z.int(),
    /** Bytes the column values take in storage. */
    bytes: z.int(),
    columns: z.array(datasetColumnSchema),
    createdAt: isoDateTime,
  })
  .meta({ id: "Dataset" });
export type Dataset = z.output<typeof datasetSchema>;

export const datasetSummarySchema = datasetSchema
  .omit({ columns: true })
  .extend({ columnCount: z.int() })
  .meta({ id: "DatasetSummary" });
export type DatasetSummary = z.output<typeof datasetSummarySchema>;

export const datasetPageSchema = z
  .object({ items: z.array(datasetSummarySchema), nextCursor: z.string().nullable() })
  .meta({ id: "DatasetPage" });
export type DatasetPage = z.output<typeof datasetPageSchema>;

export const datasetParamsSchema = strictObject({ id: uuid });

export const datasetListQuerySchema = strictObject({
  limit: z.coerce
    .number()
    .int("must be a whole number from 1 to 100")
    .min(1, "must be a whole number from 1 to 100")
    .max(100, "must be a whole number from 1 to 100")
    .default(20),
  cursor: z.string().max(200, "is not a cursor this API returned").optional(),
});
export type DatasetListQuery = z.output<typeof datasetListQuerySchema>;

const TYPES_ENTRY = /^([^:]+):(numeric|categorical)$/;

/**
 * `?types=zip:categorical,age:numeric`: the columns whose type is not to be inferred. A column
 * name with a comma cannot be named here; such a file can be sent as JSON records instead.
 */
export const typeOverridesSchema = z
  .string()
  .transform((text, ctx) => {
    const out: Record<string, ColumnType> = {};
    for (const part of text.split(",")) {
      if (part === "") continue;
      const match = TYPES_ENTRY.exec(part);
      if (!match) {
        ctx.addIssue({
          code: "custom",
          message: `"${part}" is not column:numeric or column:categorical`,
        });
        return z.NEVER;
      }
      out[match[1] as string] = match[2] as ColumnType;
    }
    return out;
  })
  .meta({ example: "zip:categorical,age:numeric" });

/**
 * `?missing=NA,-999`: the cells of a CSV upload that mean "no value", instead of the default
 * NA, N/A, null, NaN and ? (the empty cell always does; `missing=` leaves only it).
 */
export const missingMarkersSchema = z
  .string()
  .max(1000, "must be at most 1000 characters")
  .transform((text) => text.split(",").filter((m) => m !== ""))
  .meta({ example: "NA,-999" });

export const datasetUploadQuerySchema = strictObject({
  name: z
    .string()
    .min(1, "must be 1-200 characters")
    .max(200, "must be 1-200 characters")
    .refine((name) => !hasNul(name), NUL_MESSAGE)
    .meta({ example: "iris" }),
  types: typeOverridesSchema.optional(),
  missing: missingMarkersSchema.optional(),
});
export type DatasetUploadQuery = z.output<typeof datasetUploadQuerySchema>;
