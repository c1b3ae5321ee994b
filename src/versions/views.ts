/**
 * Rows as clients see them: the mapping from the stored job and version rows to the shared
 * schemas' views, used by every transport.
 */
import { countParameters } from "../engine/index.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { readStored } from "../platform/db/stored-json.ts";
import type { EpochMetrics, Job } from "../training/jobs/schemas.ts";
import type { ModelVersion } from "./schemas.ts";
import {
  storedArchitectureColumn,
  storedEvaluationColumn,
  storedPreprocessingColumn,
} from "./stored-columns.ts";
import { storedTrainingColumn } from "./stored-training.ts";

/** The include that gives a job its model name and version number. */
export const jobWithVersion = {
  version: { select: { version: true, model: { select: { name: true } } } },
} satisfies Prisma.TrainingJobInclude;

export type JobRow = Prisma.TrainingJobGetPayload<{ include: typeof jobWithVersion }>;

const iso = (date: Date | null) => (date ? date.toISOString() : null);

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

export interface VersionRow {
  version: number;
  status: ModelVersion["status"];
  architecture: Prisma.JsonValue;
  training: Prisma.JsonValue;
  metrics: Prisma.JsonValue | null;
  preprocessing: Prisma.JsonValue | null;
  evaluation: Prisma.JsonValue | null;
  createdAt: Date;
  trainedAt: Date | null;
  jobs: { id: string }[];
}

export function toVersionView(row: VersionRow): ModelVersion {
  const of = `of model version ${row.version}`;
  const network = readStored(storedArchitectureColumn, row.architecture, `architecture ${of}`);
  const training = readStored(storedTrainingColumn, row.training, `training ${of}`);
  return {
    version: row.version,
    jobId: row.jobs[0]?.id ?? null,
    status: row.status,
    network: { inputs: network.inputs, layers: network.layers },
    loss: training.loss,
    parameters: countParameters(network),
    seed: training.seed,
    metrics: toMetricsView(row.metrics),
    preprocessing:
      row.preprocessing === null
        ? null
        : readStored(storedPreprocessingColumn, row.preprocessing, `preprocessing ${of}`),
    evaluation:
      row.evaluation === null
        ? null
        : readStored(storedEvaluationColumn, row.evaluation, `evaluation ${of}`),
    createdAt: row.createdAt.toISOString(),
    trainedAt: iso(row.trainedAt),
  };
}
