/** A stored job row as clients see it (the shared `Job` schema), for every transport. */
import type { Prisma } from "../../generated/prisma/client.ts";
import { runEnding, toMetricsView } from "../../versions/metrics-view.ts";
import type { Job } from "./schemas.ts";

/**
 * The include that gives a job its model name and version number, and the version's final
 * metrics (how the run ended: epochsRun, bestEpoch).
 */
export const jobWithVersion = {
  version: { select: { version: true, metrics: true, model: { select: { name: true } } } },
} satisfies Prisma.TrainingJobInclude;

export type JobRow = Prisma.TrainingJobGetPayload<{ include: typeof jobWithVersion }>;

export function toJobView(row: JobRow): Job {
  const ending = runEnding(row.version.metrics, row.epochs);
  // A run that stopped early is complete at its last epoch, not "26 of 200".
  const epochs = ending.stoppedEarly && row.status === "succeeded" ? row.epoch : row.epochs;
  return {
    id: row.id,
    model: row.version.model.name,
    version: row.version.version,
    status: row.status,
    attempts: row.attempts,
    worker: row.worker,
    progress: { epoch: row.epoch, epochs },
    stoppedEarly: ending.stoppedEarly,
    bestEpoch: ending.bestEpoch,
    metrics: toMetricsView(row.metrics),
    cancelRequested: row.cancelRequested,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
  };
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);
