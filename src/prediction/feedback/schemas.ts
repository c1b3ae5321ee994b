/** POST /models/{name}/feedback and GET /models/{name}/versions/{v}/performance. */
import { z } from "zod";
import { strictObject, uuid } from "../../platform/validation/common.ts";

export const MAX_FEEDBACK_ITEMS = 1_000;

const item = strictObject({
  predictionId: uuid,
  /** The true label (a classifier) or value (a regressor; a class index without preprocessing). */
  actual: z.union([z.string(), z.number()]),
});

export const feedbackRequestSchema = z
  .union([item, strictObject({ items: z.array(item).min(1).max(MAX_FEEDBACK_ITEMS) })])
  .meta({ id: "FeedbackRequest" });
export type FeedbackRequest = z.output<typeof feedbackRequestSchema>;
export type FeedbackItem = z.output<typeof item>;

export const feedbackResponseSchema = z
  .object({
    /** Predictions the truth was joined to (sending the same again changes nothing). */
    accepted: z.int(),
  })
  .meta({ id: "FeedbackResult" });

export const performanceSchema = z
  .object({
    model: z.string(),
    version: z.int(),
    window: z.string(),
    /** Logged predictions made in the window, and how many of them have feedback. */
    predictions: z.int(),
    withFeedback: z.int(),
    /** Classifiers: the share of rows with feedback predicted right; null without feedback. */
    accuracy: z.number().nullable().optional(),
    /** Regressors: the mean absolute error in the target's units; null without feedback. */
    mae: z.number().nullable().optional(),
  })
  .meta({ id: "Performance" });
export type Performance = z.output<typeof performanceSchema>;
