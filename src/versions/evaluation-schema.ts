/**
 * A version's scores on the rows its dataset held back (training.testSplit), computed once its
 * job succeeded and stored with it: in the same statement that makes it ready.
 */
import { z } from "zod";

export const permutationImportanceSchema = z.object({
  feature: z.string(),
  /** Accuracy lost (classification) or mean absolute error gained (regression) when shuffled. */
  importance: z.number(),
  /** Spread over the shuffles. */
  std: z.number(),
});
export type PermutationImportance = z.output<typeof permutationImportanceSchema>;

const importance = z
  .array(permutationImportanceSchema)
  .optional()
  .describe(
    "Per feature on the test split, most important first (versions evaluated since issue 23)",
  );

export const classificationEvaluationSchema = z.object({
  task: z.literal("classification"),
  /** Test rows scored. */
  rows: z.int(),
  accuracy: z.number(),
  /** One entry per class, in the order of the version's classes. Precision is 0 for a class never predicted. */
  classes: z.array(
    z.object({
      label: z.string(),
      precision: z.number(),
      recall: z.number(),
      f1: z.number(),
      /** Test rows of this true class. */
      support: z.int(),
    }),
  ),
  /** matrix[i][j]: test rows of true class labels[i] predicted as labels[j]. */
  confusionMatrix: z.object({ labels: z.array(z.string()), matrix: z.array(z.array(z.int())) }),
  permutationImportance: importance,
});

export const regressionEvaluationSchema = z.object({
  task: z.literal("regression"),
  rows: z.int(),
  /** In the target's units. */
  mae: z.number(),
  rmse: z.number(),
  /** null when the test targets are all equal (no variance to explain). */
  r2: z.number().nullable(),
  permutationImportance: importance,
});

export const evaluationSchema = z
  .discriminatedUnion("task", [classificationEvaluationSchema, regressionEvaluationSchema])
  .meta({ id: "Evaluation" });
export type Evaluation = z.output<typeof evaluationSchema>;
