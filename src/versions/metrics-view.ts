/**
 * The metrics a version (its last epoch) and a job (its latest epoch) show: the stored JSON
 * (src/versions/stored-columns.ts) as the view, the known keys that were measured.
 */
import { z } from "zod";
import type { Prisma } from "../generated/prisma/client.ts";

/** A metric is null when it was not finite (the training diverged). */
export const metricValue = z.number().nullable();

export const epochMetricsSchema = z
  .object({
    loss: metricValue,
    accuracy: metricValue.optional(),
    valLoss: metricValue.optional(),
    valAccuracy: metricValue.optional(),
    mae: metricValue.optional(),
    valMae: metricValue.optional(),
  })
  .meta({ id: "EpochMetrics" });
export type EpochMetrics = z.output<typeof epochMetricsSchema>;

const METRIC_KEYS = ["loss", "accuracy", "valLoss", "valAccuracy", "mae", "valMae"] as const;

/**
 * Stored metrics JSON -> the view: the known keys that were measured (a null column means the
 * loss does not measure it); the loss is always there, null when it was not finite.
 */
export function toMetricsView(value: Prisma.JsonValue | null): EpochMetrics | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  const view: EpochMetrics = { loss: null };
  for (const key of METRIC_KEYS) {
    const metric = value[key];
    if (typeof metric === "number") view[key] = metric;
  }
  return view;
}

/**
 * How the run ended, from the version's final metrics (the runner keeps epochsRun and bestEpoch
 * there): it stopped early when it ran fewer epochs than `epochs`, the ones asked for.
 */
export function runEnding(
  metrics: Prisma.JsonValue | null | undefined,
  epochs: number,
): {
  epochsRun: number | null;
  stoppedEarly: boolean;
  bestEpoch: number | null;
} {
  const m = (metrics ?? {}) as { epochsRun?: unknown; bestEpoch?: unknown };
  const epochsRun = typeof m.epochsRun === "number" ? m.epochsRun : null;
  return {
    epochsRun,
    stoppedEarly: epochsRun !== null && epochsRun < epochs,
    bestEpoch: typeof m.bestEpoch === "number" ? m.bestEpoch : null,
  };
}
