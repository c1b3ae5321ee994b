/** What `"explain": true` adds to a prediction: a baseline, and an explanation per row. */
import { z } from "zod";

export const baselineSchema = z
  .union([z.record(z.string(), z.union([z.number(), z.string()])), z.array(z.number())])
  .describe(
    "Feature values keyed by name (a version trained from a dataset; features not named take the training mean or mode), or a row of numbers (a version trained on numbers; default zeros)",
  );

export const explanationSchema = z
  .object({
    /** What is explained: "probability of <label>", "value", or "output <i>". */
    target: z.string(),
    output: z.number(),
    baselineOutput: z.number(),
    /**
     * Integrated gradients from the baseline: by feature name (one-hot columns summed into
     * their category), or by input index for a version without preprocessing. They sum to
     * output − baselineOutput, up to `gap`.
     */
    attributions: z.union([z.record(z.string(), z.number()), z.array(z.number())]),
    gap: z.number(),
    /** Trapezoid steps of the integral. */
    steps: z.int(),
  })
  .meta({ id: "Explanation" });
export type Explanation = z.output<typeof explanationSchema>;
