/**
 * POST /predict (and gRPC Predict). The row width can only be checked against the stored model,
 * so the prediction service reports it with `widthIssues`, in the paths the schema would use.
 */
import { z } from "zod";
import { type FieldIssue, NON_FINITE_MESSAGE } from "../platform/errors.ts";
import {
  checkRowList,
  FLOAT32_MESSAGE,
  fitsFloat32,
  MODEL_NAME,
  modelName,
  modelVersion,
  type RequestLimits,
  rowReporter,
  strictObject,
} from "../platform/validation/common.ts";
import { aliasName } from "../versions/aliases/schemas.ts";
import { baselineSchema, explanationSchema } from "./explain/schemas.ts";

/** A raw cell of a version with preprocessing: a number, a category, or null for missing. */
/** A client's routing key: any text, bounded so it stays cheap to hash. */
export const routingKey = z
  .string()
  .min(1, "must not be empty")
  .max(256, "must be at most 256 characters");

export type PredictCell = number | string | boolean | null;
/** Numbers (or, with preprocessing, raw values in the stored feature order), or values by feature name. */
export type PredictRow = PredictCell[] | Record<string, PredictCell>;

function cellIssue(x: unknown): string | undefined {
  // x - x is 0 for every finite number and NaN for ±Infinity and NaN.
  if (typeof x === "number") {
    if (x - x !== 0) return NON_FINITE_MESSAGE;
    return fitsFloat32(x) ? undefined : FLOAT32_MESSAGE;
  }
  if (x === null || typeof x === "string" || typeof x === "boolean") return undefined;
  if (x === undefined) return "is required";
  return `Invalid input: expected number or string, received ${Array.isArray(x) ? "array" : typeof x}`;
}

/**
 * Rows of numbers as `matrix` checks them; rows of raw values (strings, nulls) or objects keyed
 * by feature name pass here and are checked against the version's preprocessing by the
 * prediction service (a version without one refuses them there, naming the cell).
 */
const inputRows = (maxRows: number) =>
  z
    .custom<PredictRow[]>(() => true)
    .superRefine((value, ctx) => {
      if (!checkRowList(value, maxRows, ctx)) return;
      const bad = rowReporter(ctx, [], 10, true);
      for (let i = 0; i < value.length; i++) {
        const row: unknown = value[i];
        if (Array.isArray(row)) {
          for (let j = 0; j < row.length; j++) {
            const issue = cellIssue(row[j]);
            if (issue) bad.add([i, j], issue);
          }
        } else if (row !== null && typeof row === "object") {
          for (const [key, x] of Object.entries(row)) {
            const issue = cellIssue(x);
            if (issue) bad.add([i, key], issue);
          }
        } else {
          bad.add(
            [i],
            `Invalid input: expected array, received ${row === null ? "null" : typeof row}`,
          );
        }
      }
      bad.finish("values that are not numbers or strings");
    })
    .meta({
      type: "array",
      minItems: 1,
      maxItems: maxRows,
      items: {
        anyOf: [
          { type: "array", items: { type: ["number", "string", "boolean", "null"] } },
          {
            type: "object",
            additionalProperties: { type: ["number", "string", "boolean", "null"] },
          },
        ],
      },
    });

export function createPredictRequestSchema(limits: Pick<RequestLimits, "maxPredictRows">) {
  return strictObject({
    model: modelName,
    /** Omit to be routed: the traffic split, else the alias production, else the newest ready. */
    version: modelVersion.optional(),
    /** Pin an alias instead (not with `version`). */
    alias: aliasName.optional(),
    /** A sticky split sends the same key to the same version (or the X-Routing-Key header). */
    routingKey: routingKey.optional(),
    inputs: inputRows(limits.maxPredictRows),
    /** Columns of rows keyed by name given back beside each prediction instead of predicted on. */
    passthrough: z.array(z.string().min(1)).max(32).optional(),
    /** Columns of rows keyed by name that are not features are dropped instead of refused. */
    ignoreExtraColumns: z.boolean().optional(),
    /** Attributions per feature by integrated gradients (src/prediction/explain). */
    explain: z.boolean().optional(),
    /** The point explanations start from; default the training means and modes. */
    baseline: baselineSchema.optional(),
  }).superRefine((req, ctx) => {
    if (req.version !== undefined && req.alias !== undefined) {
      ctx.addIssue({ code: "custom", path: ["alias"], message: "give version or alias, not both" });
    }
    // Widths of named or raw rows are the preprocessing's to check.
    if (!req.inputs.every((row) => Array.isArray(row) && row.every((x) => typeof x === "number")))
      return;
    const width = (req.inputs[0] as number[] | undefined)?.length ?? 0;
    if (width === 0) {
      ctx.addIssue({ code: "custom", path: ["inputs", 0], message: "needs at least one value" });
      return;
    }
    const bad = rowReporter(ctx, ["inputs"]);
    req.inputs.forEach((row, i) => {
      if (row.length !== width) {
        bad.add(["inputs", i], `has ${row.length} values; inputs[0] has ${width}`);
      }
    });
    bad.finish("rows with a different number of values");
  });
}

/**
 * Whether rows a transport has packed itself (every value a finite number) pass this schema: a
 * valid model name, 1 to maxRows rows, at least one value a row. Readers that pack rows (the
 * /predict body reader, the inference protocol's tensors) check this and leave anything else to
 * the schema, which says what is wrong.
 */
export function packedRowsPass(model: string, rows: number, width: number, maxRows: number) {
  return MODEL_NAME.test(model) && rows >= 1 && rows <= maxRows && width >= 1;
}

export type PredictRequestSchema = ReturnType<typeof createPredictRequestSchema>;
export type PredictRequest = z.output<PredictRequestSchema>;

export const predictResponseSchema = z
  .object({
    model: z.string(),
    /** The version that answered. */
    version: z.int(),
    /** The alias the request came through (pinned, or production by default). */
    alias: z.string().optional(),
    /** One row of output-layer values per input row. */
    outputs: z.array(z.array(z.number())),
    /** For classifiers: the predicted class index of each row. */
    classes: z.array(z.int()).optional(),
    /**
     * For a version trained from a dataset: each row's label with every class's probability
     * (a classifier), or its value in the target's units (a regressor).
     */
    predictions: z
      .array(
        z.union([
          z.object({ label: z.string(), probabilities: z.record(z.string(), z.number()) }),
          z.object({ value: z.number() }),
        ]),
      )
      .optional(),
    /** With `passthrough`: each row's passthrough columns, in the order of the rows. */
    passthrough: z.array(z.record(z.string(), z.unknown())).optional(),
    /**
     * With the prediction log on (PREDICTION_LOG_RATE): an id per row to send the truth back
     * with (POST /models/{name}/feedback); null for a row that was not logged.
     */
    predictionIds: z.array(z.string().nullable()).optional(),
    /** With `explain`: the baseline used, then one explanation per row. */
    baseline: baselineSchema.optional(),
    explanations: z.array(explanationSchema).optional(),
  })
  .meta({ id: "PredictResponse" });
export type PredictResponse = z.output<typeof predictResponseSchema>;

/**
 * Field issues when all `rows` rows are `got` values wide and the model takes `width`: the first
 * `max` rows by path, then a count.
 */
export function widthIssues(rows: number, got: number, width: number, max = 10): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (let i = 0; i < Math.min(rows, max); i++) {
    issues.push({ path: `inputs[${i}]`, message: `has ${got} values; the model takes ${width}` });
  }
  if (rows > max) issues.push({ path: "inputs", message: `${rows - max} more rows not listed` });
  return issues;
}
