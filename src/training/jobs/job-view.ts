/** A stored job row as clients see it (the shared `Job` schema), for every transport. */
import type { Prisma } from "../../generated/prisma/client.ts";
import { toMetricsView } from "../../versions/metrics-view.ts";
import type { Job } from "./schemas.ts";

/** The include that gives a job its model name and version number. */
export const jobWithVersion = {
  version: { select: { version: true, model: { select: { name: true } } } },
} satisfies Prisma.TrainingJobInclude;

export type JobRow = Prisma.TrainingJobGetPayload<{ include: typeof jobWithVersion }>;

export function toJobView(row: JobRow): Job {
  return {
    id: row.id,
    model: row.version.model.name,
    version: row.version.version,
    status: row.status,
    attempts: row.attempts,
    worker: row.worker,
    progress: { epoch: row.epoch, epochs: row.epochs },
    metrics: toMetricsView(row.metrics),
    cancelRequested: row.cancelRequested,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
  };
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);
