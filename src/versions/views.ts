/**
 * Rows as clients see them: the mapping from the stored job and version rows to the shared
 * schemas' views, used by every transport.
 */
import type { NetworkSpec } from "../engine/index.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import type { EpochMetrics, Job } from "../training/jobs/schemas.ts";
import { countParameters } from "../training/request.ts";
import type { Evaluation } from "./evaluation-schema.ts";
import type { Preprocessing } from "./preprocessing/schema.ts";
import type { ModelVersion } from "./schemas.ts";
import type { StoredTraining } from "./stored-training.ts";

/** The include that gives a job its model name and version number. */
export const jobWithVersion = {
  version: { select: { version: true, metrics: true, model: { select: { name: true } } } },
} satisfies Prisma.TrainingJobInclude;

export type JobRow = Prisma.TrainingJobGetPayload<{ include: typeof jobWithVersion }>;

const iso = (date: Date | null) => (date ? date.toISOString() : null);

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
  const network = row.architecture as unknown as NetworkSpec;
  const training = row.training as unknown as StoredTraining;
  const ending = runEnding(row.metrics, training.epochs);
  const dropout = training.dropout;
  return {
    version: row.version,
    jobId: row.jobs[0]?.id ?? null,
    status: row.status,
    network: {
      inputs: network.inputs,
      ...(dropout?.inputs ? { inputDropout: dropout.inputs } : {}),
      layers: network.layers.map((l, i) =>
        dropout?.layers?.[i] ? { ...l, dropout: dropout.layers[i] } : l,
      ),
    },
    loss: training.loss,
    parameters: countParameters(network),
    seed: training.seed,
    metrics: toMetricsView(row.metrics),
    preprocessing: (row.preprocessing as unknown as Preprocessing | null) ?? null,
    evaluation: (row.evaluation as unknown as Evaluation | null) ?? null,
    training: trainingView(training, ending),
    createdAt: row.createdAt.toISOString(),
    trainedAt: iso(row.trainedAt),
  };
}

function trainingView(
  training: StoredTraining,
  ending: ReturnType<typeof runEnding>,
): ModelVersion["training"] {
  const from = training.from;
  return {
    optimizer: { ...training.optimizer },
    epochs: training.epochs,
    batchSize: training.batchSize,
    validationSplit: training.validationSplit,
    ...(training.earlyStopping ? { earlyStopping: { ...training.earlyStopping } } : {}),
    // An imported file's training is loose JSON: only a dataset of the shape this server writes.
    ...(typeof training.dataset?.id === "string" && typeof training.dataset.testSplit === "number"
      ? { dataset: { id: training.dataset.id, testSplit: training.dataset.testSplit } }
      : {}),
    ...ending,
    // A warm start's source, of the shape this server writes (an imported file's is loose JSON).
    from:
      typeof from?.model === "string" && typeof from.version === "number"
        ? {
            model: from.model,
            version: from.version,
            initialEpoch: typeof from.initialEpoch === "number" ? from.initialEpoch : 0,
            optimizerStateRestored: from.optimizerState === true,
          }
        : null,
  };
}
