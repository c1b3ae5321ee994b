/**
 * Rows as clients see them: the mapping from the stored job and version rows to the shared
 * schemas' views, used by every transport.
 */
import { countParameters } from "../engine/index.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { readStored } from "../platform/db/stored-json.ts";
import { runEnding, toMetricsView } from "./metrics-view.ts";
import type { ModelVersion } from "./schemas.ts";
import {
  storedArchitectureColumn,
  storedEvaluationColumn,
  storedPreprocessingColumn,
} from "./stored-columns.ts";
import { type StoredTraining, storedTrainingColumn } from "./stored-training.ts";

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
  /** Absent where the caller has no study (an imported version). */
  studyId?: string | null;
  jobs: { id: string }[];
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function toVersionView(row: VersionRow): ModelVersion {
  const of = `of model version ${row.version}`;
  const network = readStored(storedArchitectureColumn, row.architecture, `architecture ${of}`);
  const training = readStored(storedTrainingColumn, row.training, `training ${of}`);
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
    preprocessing:
      row.preprocessing === null
        ? null
        : readStored(storedPreprocessingColumn, row.preprocessing, `preprocessing ${of}`),
    evaluation:
      row.evaluation === null
        ? null
        : readStored(storedEvaluationColumn, row.evaluation, `evaluation ${of}`),
    training: trainingView(training, ending),
    study: row.studyId ?? null,
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
    // A warm start's source (storedTrainingSchema has checked its shape).
    from: from
      ? {
          model: from.model,
          version: from.version,
          initialEpoch: from.initialEpoch,
          optimizerStateRestored: from.optimizerState,
        }
      : null,
  };
}
