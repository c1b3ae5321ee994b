/** RFC 9457 problem details, the body of every error response. */
import { z } from "zod";

export const fieldIssueSchema = z.object({
  /** Dotted path into the request, e.g. `network.layers[1].units`; "" is the whole body. */
  path: z.string(),
  message: z.string(),
});

export const problemSchema = z
  .object({
    type: z.url().meta({ example: "https://nnserve.dev/problems/validation-failed" }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string(),
    /** Stable machine-readable code (VALIDATION_FAILED, NOT_FOUND, ...). */
    code: z.string(),
    /** Quote it when reporting a problem; it finds the server's log lines. */
    requestId: z.string(),
    errors: z.array(fieldIssueSchema).optional(),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details (application/problem+json)" });
export type Problem = z.output<typeof problemSchema>;
