/**
 * The operations the transports call. REST and gRPC both depend on these interfaces only; the
 * Postgres-backed implementations are wired in server.ts. Requests arrive already parsed by the
 * shared schemas (defaults filled in), and failures are thrown as AppError (notFound, conflict,
 * validationError, unavailable...), never as transport-specific errors.
 */

import type { DatasetService } from "../datasets/service.ts";
import type { Readiness } from "../platform/readiness.ts";
import type { PackedInput, PredictTarget } from "../prediction/input.ts";
import type { PredictRequest, PredictResponse } from "../prediction/request.ts";
import type { TrafficService } from "../prediction/traffic/service.ts";
import type { TrainingService } from "../training/contract.ts";
import type { AliasService } from "../versions/aliases/service.ts";
import type { ModelFileService } from "../versions/model-files.ts";
import type { Prediction } from "../versions/preprocessing/decode.ts";
import type { ModelRegistry } from "../versions/registry.ts";

// Each feature declares the interface it implements; the transports import them all from here.
export type {
  SubmitOptions,
  SubmitResult,
  Submitter,
  TrainingService,
} from "../training/contract.ts";

export interface TensorPrediction {
  model: string;
  version: number;
  /** The alias the request came through (pinned, or production by default). */
  alias?: string;
  rows: number;
  units: number;
  /** [rows × units], this caller's own copy. */
  outputs: Float32Array;
  /** For classifiers: the predicted class index of each row. */
  classes?: number[];
  /** For a version with preprocessing: each row's label and probabilities, or value. */
  predictions?: Prediction[];
}

export interface PredictionService {
  /**
   * Throws notFound("model", name) or notFound("model version", `${name}@${v}`), conflict when
   * the version has not finished training, and validationError(widthIssues(...)) when rows
   * do not match the model's input width.
   */
  predict(req: PredictRequest): Promise<PredictResponse>;
  /**
   * The same, on rows a transport has packed (see src/prediction/input.ts); the width errors
   * have the same paths (`inputs[3]`).
   */
  predictRows(target: PredictTarget, rows: PackedInput): Promise<TensorPrediction>;
}

export type { Readiness } from "../platform/readiness.ts";
export type { ModelRegistry } from "../versions/registry.ts";

export interface Services {
  training: TrainingService;
  datasets: DatasetService;
  prediction: PredictionService;
  models: ModelRegistry;
  /** ONNX and portable-file export, and import of a portable file. */
  modelFiles: ModelFileService;
  readiness: Readiness;
  /** Aliases, rollback and history (issue 20); absent in transport tests that do not serve them. */
  aliases?: AliasService;
  /** Canary split and shadow of each model (issue 20); absent as `aliases`. */
  traffic?: TrafficService;
}
