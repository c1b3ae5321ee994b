/**
 * The operations the transports call. REST and gRPC both depend on these interfaces only; the
 * Postgres-backed implementations are wired in server.ts. Requests arrive already parsed by the
 * shared schemas (defaults filled in), and failures are thrown as AppError (notFound, conflict,
 * validationError, unavailable...), never as transport-specific errors.
 */

import type { DatasetService } from "../datasets/service.ts";
import type { Readiness } from "../platform/readiness.ts";
import type { PredictRequest, PredictResponse } from "../prediction/request.ts";
import type { TrainingService } from "../training/contract.ts";
import type { ModelFileService } from "../versions/model-files.ts";
import type { Prediction } from "../versions/preprocessing/decode.ts";
import type { RawRow } from "../versions/preprocessing/encode.ts";
import type { ModelRegistry } from "../versions/registry.ts";

// Each feature declares the interface it implements; the transports import them all from here.
export type {
  SubmitOptions,
  SubmitResult,
  Submitter,
  TrainingService,
} from "../training/contract.ts";

/** Rows already packed row-major, as the binary transports have them: no number[][] between. */
export interface TensorPredictRequest {
  model: string;
  /** Omit for the newest ready version. */
  version?: number;
  /** [rows × width], finite values (the caller has checked them). */
  inputs: Float32Array;
  rows: number;
  width: number;
  /**
   * The same rows as the client wrote them, for a version with preprocessing: its raw values
   * are encoded from these rather than from their float32 roundings in `inputs`.
   */
  rawRows?: () => readonly RawRow[];
  /** The rows are the network's input already: a version's preprocessing is not applied. */
  encoded?: boolean;
}

export interface TensorPrediction {
  model: string;
  version: number;
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
  /** The same, on packed rows; the width errors have the same paths (`inputs[3]`). */
  predictTensor(req: TensorPredictRequest): Promise<TensorPrediction>;
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
}
