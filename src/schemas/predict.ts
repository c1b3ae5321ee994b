/**
 * POST /predict (and gRPC Predict). The row width can only be checked against the stored model,
 * so the prediction service reports it with `widthIssues`, in the paths the schema would use.
 */
import { z } from "zod";
import type { FieldIssue } from "../errors.ts";
import {
  MODEL_NAME,
  matrix,
  modelName,
  modelVersion,
  type RequestLimits,
  rowReporter,
  strictObject,
} from "./common.ts";

export function createPredictRequestSchema(limits: Pick<RequestLimits, "maxPredictRows">) {
  return strictObject({
    model: modelName,
    /** Omit for the newest ready version. */
    version: modelVersion.optional(),
    inputs: matrix(limits.maxPredictRows),
  }).superRefine((req, ctx) => {
    const width = req.inputs[0]?.length ?? 0;
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
    version: z.int(),
    /** One row of output-layer values per input row. */
    outputs: z.array(z.array(z.number())),
    /** For classifiers: the predicted class index of each row. */
    classes: z.array(z.int()).optional(),
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
