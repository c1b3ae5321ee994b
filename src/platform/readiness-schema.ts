/** Liveness and readiness bodies. */
import { z } from "zod";

export const checkResultSchema = z.object({
  ok: z.boolean(),
  /** Why a check failed, in words an operator can act on. */
  detail: z.string().optional(),
  latencyMs: z.number().optional(),
});

export const readinessSchema = z
  .object({
    ready: z.boolean(),
    checks: z.record(z.string(), checkResultSchema),
  })
  .meta({ id: "Readiness" });
export type ReadinessReport = z.output<typeof readinessSchema>;

export const livenessSchema = z.object({ status: z.literal("ok") });
