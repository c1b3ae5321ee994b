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
  /**
   * Two classes only: the ROC and precision-recall curves of the second class's probability
   * (at most 101 points each) with their areas. Absent for older versions, for more classes,
   * or when the test rows hold one class.
   */
  curves: z
    .object({
      positive: z.string(),
      roc: z.array(z.tuple([z.number(), z.number()])),
      auc: z.number(),
      pr: z.array(z.tuple([z.number(), z.number()])),
      averagePrecision: z.number(),
    })
    .optional(),
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
  /**
   * The first 500 test rows' true and predicted values, in the target's units, for
   * predicted-vs-actual and residual plots. Absent for versions evaluated before it was kept.
   */
  points: z.object({ actual: z.array(z.number()), predicted: z.array(z.number()) }).optional(),
  permutationImportance: importance,
});

export const evaluationSchema = z
  .discriminatedUnion("task", [classificationEvaluationSchema, regressionEvaluationSchema])
  .meta({ id: "Evaluation" });
export type Evaluation = z.output<typeof evaluationSchema>;
