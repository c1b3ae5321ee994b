/**
 * nnserve.v1 messages <-> the plain objects of the shared schemas. Requests become exactly what
 * the REST API's JSON body would be (rows as number[][], optional fields left out when unset), so
 * the same zod schema parses them and reports the same field paths; views become messages.
 * Nothing here decides whether a value is valid, except what only the wire form can get wrong
 * (a `Rows` whose value count is not a multiple of its width).
 */

import type { Timestamp } from "../../generated/grpc/google/protobuf/Timestamp.ts";
import type { Cell__Output } from "../../generated/grpc/nnserve/v1/Cell.ts";
import type { DatasetPreprocessing__Output } from "../../generated/grpc/nnserve/v1/DatasetPreprocessing.ts";
import type { Epoch } from "../../generated/grpc/nnserve/v1/Epoch.ts";
import type { EpochMetrics as EpochMetricsMessage } from "../../generated/grpc/nnserve/v1/EpochMetrics.ts";
import type { Job as JobMessage } from "../../generated/grpc/nnserve/v1/Job.ts";
import type { Model as ModelMessage } from "../../generated/grpc/nnserve/v1/Model.ts";
import type { ModelSummary as ModelSummaryMessage } from "../../generated/grpc/nnserve/v1/ModelSummary.ts";
import type { Network__Output } from "../../generated/grpc/nnserve/v1/Network.ts";
import type { RawRow__Output } from "../../generated/grpc/nnserve/v1/RawRow.ts";
import type { RowPrediction } from "../../generated/grpc/nnserve/v1/RowPrediction.ts";
import type { Rows, Rows__Output } from "../../generated/grpc/nnserve/v1/Rows.ts";
import type { TrainRequest__Output } from "../../generated/grpc/nnserve/v1/TrainRequest.ts";
import { bytesToFloat32, float32ToBytes } from "../../platform/db/binary.ts";
import { type FieldIssue, validationError } from "../../platform/errors.ts";
import { unpackRows } from "../../prediction/packed-rows.ts";
import type { EpochMetrics, Job, JobMetrics } from "../../training/jobs/schemas.ts";
import type { Prediction } from "../../versions/preprocessing/decode.ts";
import type { Model, ModelSummary, ModelVersion } from "../../versions/schemas.ts";

/** The keys of `source` whose values are set (not undefined or null), copied. */
export function present<T extends object, K extends keyof T>(source: T, keys: readonly K[]) {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/** A Rows message's shape, checked: how many values, the width, and whether they came packed. */
function rowsShape(rows: Rows__Output, path: string) {
  const packed = rows.packed;
  const width = rows.width;
  const issues: FieldIssue[] = [];
  if (rows.values.length > 0 && packed.length > 0) {
    issues.push({ path, message: "set values or packed, not both" });
  }
  if (packed.length % 4 !== 0) {
    issues.push({
      path: `${path}.packed`,
      message: `has ${packed.length} bytes; little-endian float32 values take 4 bytes each`,
    });
  }
  const usePacked = packed.length > 0;
  const count = usePacked ? Math.floor(packed.length / 4) : rows.values.length;
  if (count > 0 && width === 0) {
    issues.push({ path: `${path}.width`, message: "must be >= 1 (values per row)" });
  } else if (width > 0 && count % width !== 0) {
    issues.push({
      path: `${path}.${usePacked ? "packed" : "values"}`,
      message: `has ${count} values, not a whole number of rows of width ${width}`,
    });
  }
  if (issues.length > 0) throw validationError(issues);
  return { count, width, usePacked };
}

/** A Rows message's values, row-major, as float32 (what both of its forms carry). */
function rowValues(rows: Rows__Output, path: string) {
  const { count, width, usePacked } = rowsShape(rows, path);
  const values = usePacked ? bytesToFloat32(rows.packed) : Float32Array.from(rows.values);
  return { values, rows: width === 0 ? 0 : count / width, width };
}

/**
 * A Rows message as number[][]; undefined when the field is unset. `path` is the REST path of
 * the field (`data.inputs`), so the schema's row paths (`data.inputs[3][1]`) and ours agree.
 */
export function rowsFromMessage(rows: Rows__Output | null, path: string): number[][] | undefined {
  if (!rows) return undefined;
  const { values, rows: n, width } = rowValues(rows, path);
  return unpackRows(values, n, width);
}

/**
 * A Rows message as packed rows when it has some and every value is finite (the form the
 * prediction service runs on); undefined otherwise, and the schema, given rowsFromMessage's
 * rows, says what is wrong. Shape errors are thrown as rowsFromMessage throws them.
 */
export function packedRowsFromMessage(
  rows: Rows__Output | null,
  path: string,
): { values: Float32Array; rows: number; width: number } | undefined {
  if (!rows) return undefined;
  const packed = rowValues(rows, path);
  const { values } = packed;
  // v - v is 0 for every finite number and NaN for ±Infinity and NaN.
  for (let i = 0; i < values.length; i++) if (values[i]! - values[i]! !== 0) return undefined;
  return packed;
}

/** Packed rows ([rows × width]) as a Rows message, packed or as values. */
export function rowsToMessage(values: Float32Array, width: number, packed: boolean): Rows {
  return packed ? { width, packed: float32ToBytes(values) } : { width, values: Array.from(values) };
}

function networkFromMessage(network: Network__Output, derived: boolean) {
  return {
    // From a dataset, 0 (unset) means "derive it", as an absent field does in JSON.
    ...(derived && network.inputs === 0 ? {} : { inputs: network.inputs }),
    ...present(network, ["inputDropout"]),
    layers: network.layers.map((layer) =>
      present(layer, ["units", "activation", "alpha", "initializer", "dropout"]),
    ),
  };
}

/** A TrainRequest as the JSON body of POST /train. */
export function trainRequestFromMessage(req: TrainRequest__Output): Record<string, unknown> {
  const { optimizer, training, data } = req;
  return {
    model: req.model,
    network: req.network ? networkFromMessage(req.network, req.dataset !== "") : undefined,
    // Unset with no network: the recipe's (or the source's) loss.
    ...(req.loss !== "" || req.network ? { loss: req.loss } : {}),
    ...(optimizer && {
      optimizer: {
        ...present(optimizer, [
          "name",
          "learningRate",
          "weightDecay",
          "clipNorm",
          "momentum",
          "nesterov",
          "rho",
          "epsilon",
          "beta1",
          "beta2",
        ]),
        ...(optimizer.decay && {
          decay: {
            ...present(optimizer.decay, [
              "type",
              "rate",
              "everyEpochs",
              "warmup",
              "minLearningRate",
              "divFactor",
              "finalDivFactor",
            ]),
            ...(optimizer.decay.unit !== "" && { unit: optimizer.decay.unit }),
          },
        }),
      },
    }),
    training: training
      ? {
          // 0 (unset) epochs: the recipe's or the source's, as an absent field in JSON.
          ...(training.epochs !== 0 || req.network ? { epochs: training.epochs } : {}),
          ...present(training, [
            "batchSize",
            "shuffle",
            "seed",
            "validationSplit",
            "testSplit",
            "timeBudgetSeconds",
            "labelSmoothing",
            "storeOptimizerState",
          ]),
          ...(training.classWeights && {
            classWeights: training.classWeights.balanced
              ? "balanced"
              : training.classWeights.weights,
          }),
          ...(training.earlyStopping && {
            earlyStopping: present(training.earlyStopping, [
              "monitor",
              "patience",
              "minDelta",
              "restoreBestWeights",
            ]),
          }),
        }
      : undefined,
    data: data
      ? {
          inputs: rowsFromMessage(data.inputs, "data.inputs"),
          ...(data.targets && { targets: rowsFromMessage(data.targets, "data.targets") }),
          ...(data.labels.length > 0 && { labels: data.labels }),
        }
      : undefined,
    ...(req.dataset !== "" && { dataset: req.dataset }),
    ...(req.target !== "" && { target: req.target }),
    ...(req.features.length > 0 && { features: req.features }),
    ...(req.task !== "" && { task: req.task }),
    ...(req.preprocessing && { preprocessing: preprocessingFromMessage(req.preprocessing) }),
    ...(req.from && { from: { model: req.from.model, version: req.from.version } }),
  };
}

export function preprocessingFromMessage(p: DatasetPreprocessing__Output) {
  const columns = Object.keys(p.imputeColumns).length > 0;
  if (columns && p.impute !== "") {
    throw validationError([
      { path: "preprocessing.impute", message: "set impute or impute_columns, not both" },
    ]);
  }
  return {
    ...(p.scaling !== "" && { scaling: p.scaling }),
    ...(p.unknown !== "" && { unknown: p.unknown }),
    ...(p.clip !== undefined && p.clip !== null && { clip: p.clip }),
    ...(columns ? { impute: p.imputeColumns } : p.impute !== "" ? { impute: p.impute } : {}),
  };
}

/** RawRow messages as the JSON `inputs` of POST /predict: objects by name, or arrays. */
export function rawRowsFromMessage(rows: RawRow__Output[]): unknown[] {
  const cell = (c: Cell__Output) =>
    c.value === "number" ? c.number : c.value === "text" ? c.text : null;
  return rows.map((row) =>
    row.values.length > 0
      ? row.values.map(cell)
      : Object.fromEntries(Object.entries(row.named).map(([k, c]) => [k, cell(c)])),
  );
}

export function predictionsToMessage(predictions: Prediction[] | undefined): RowPrediction[] {
  return (predictions ?? []).map((p) =>
    "label" in p ? { label: p.label, probabilities: p.probabilities } : { value: p.value },
  );
}

/** "queued" -> "JOB_STATUS_QUEUED": the enum value names are the schema's names, prefixed. */
export function enumName(prefix: string, value: string): string {
  return `${prefix}_${value.toUpperCase()}`;
}

/** "JOB_STATUS_QUEUED" -> "queued"; the unspecified value -> undefined; unknown numbers as is. */
export function enumValue(prefix: string, name: string | number): string | number | undefined {
  if (typeof name !== "string") return name;
  if (name === `${prefix}_UNSPECIFIED`) return undefined;
  return name.startsWith(`${prefix}_`) ? name.slice(prefix.length + 1).toLowerCase() : name;
}

export function timestamp(iso: string): Timestamp;
export function timestamp(iso: string | null): Timestamp | null;
export function timestamp(iso: string | null): Timestamp | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

// A metric that was not finite is null in the view and NaN on the wire (see metrics.proto).
const metric = (value: number | null | undefined) =>
  value === undefined ? undefined : (value ?? Number.NaN);

export function metricsToMessage(metrics: EpochMetrics | null): EpochMetricsMessage | null {
  if (!metrics) return null;
  return {
    loss: metric(metrics.loss),
    accuracy: metric(metrics.accuracy),
    valLoss: metric(metrics.valLoss),
    valAccuracy: metric(metrics.valAccuracy),
    mae: metric(metrics.mae),
    valMae: metric(metrics.valMae),
  };
}

export function jobToMessage(job: Job): JobMessage {
  return {
    id: job.id,
    model: job.model,
    version: job.version,
    status: enumName("JOB_STATUS", job.status) as JobMessage["status"],
    attempts: job.attempts,
    worker: job.worker ?? "",
    progress: job.progress,
    stoppedEarly: job.stoppedEarly,
    ...(job.bestEpoch === null ? {} : { bestEpoch: job.bestEpoch }),
    metrics: metricsToMessage(job.metrics),
    cancelRequested: job.cancelRequested,
    error: job.error ?? "",
    createdAt: timestamp(job.createdAt),
    startedAt: timestamp(job.startedAt),
    finishedAt: timestamp(job.finishedAt),
  };
}

export function epochToMessage(epoch: JobMetrics["epochs"][number]): Epoch {
  const { epoch: number, learningRate, durationMs, ...metrics } = epoch;
  return {
    epoch: number,
    metrics: metricsToMessage(metrics),
    learningRate: metric(learningRate),
    durationMs,
  };
}

export function modelSummaryToMessage(model: ModelSummary): ModelSummaryMessage {
  return {
    name: model.name,
    latestVersion: model.latestVersion ?? undefined,
    versionCount: model.versionCount,
    createdAt: timestamp(model.createdAt),
    updatedAt: timestamp(model.updatedAt),
  };
}

export function versionToMessage(version: ModelVersion) {
  return {
    version: version.version,
    jobId: version.jobId ?? "",
    status: enumName("VERSION_STATUS", version.status) as never,
    network: version.network,
    loss: version.loss,
    parameters: version.parameters,
    seed: version.seed,
    metrics: metricsToMessage(version.metrics),
    createdAt: timestamp(version.createdAt),
    trainedAt: timestamp(version.trainedAt),
    preprocessingJson: version.preprocessing ? JSON.stringify(version.preprocessing) : "",
    evaluationJson: version.evaluation ? JSON.stringify(version.evaluation) : "",
    trainingJson: JSON.stringify(version.training),
    study: version.study ?? "",
  };
}

export function modelToMessage(model: Model): ModelMessage {
  return { ...modelSummaryToMessage(model), versions: model.versions.map(versionToMessage) };
}
