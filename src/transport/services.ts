/**
 * The operations the transports call. REST and gRPC both depend on these interfaces only; the
 * Postgres-backed implementations are wired in server.ts. Requests arrive already parsed by the
 * shared schemas (defaults filled in), and failures are thrown as AppError (notFound, conflict,
 * validationError, unavailable...), never as transport-specific errors.
 */

import type { DatasetService } from "../datasets/service.ts";
import type { ReadinessReport } from "../platform/readiness-schema.ts";
import type { BatchScoringService } from "../prediction/batch/service.ts";
import type { DriftService } from "../prediction/drift/service.ts";
import type { ExplainService } from "../prediction/explain/service.ts";
import type { FeedbackService } from "../prediction/feedback/service.ts";
import type { PredictRequest, PredictResponse } from "../prediction/request.ts";
import type { TablePredictionService } from "../prediction/tabular/service.ts";
import type { Job, JobListQuery, JobMetrics, JobPage } from "../training/jobs/schemas.ts";
import type { TrainRequest } from "../training/request.ts";
import type { ModelFileService } from "../versions/model-files.ts";
import type { Prediction } from "../versions/preprocessing/decode.ts";
import type { RawRow } from "../versions/preprocessing/encode.ts";
import type { Model, ModelList } from "../versions/schemas.ts";

/** The API key submitting a job (AUTH on); a verified `Caller` (src/auth/key-store.ts) is one. */
export interface Submitter {
  keyId: string;
  /** The key's public prefix, the only part of it an error message may name. */
  prefix: string;
}

export interface SubmitOptions {
  /**
   * Same key and same request: return the first job (`created: false`). Same key with a
   * different request: throw idempotencyKeyReused().
   */
  idempotencyKey?: string;
  /**
   * The job is linked to this API key, and the key's limit of queued and running jobs is
   * checked, in the transaction that creates the job; past the limit, throws tooManyJobs().
   */
  submitter?: Submitter;
}

export interface SubmitResult {
  job: Job;
  /** False when the idempotency key was seen before and `job` is the earlier one. */
  created: boolean;
}

export interface TrainingService {
  /** Allocates the next version of `req.model` and queues its training job. */
  submit(req: TrainRequest, options?: SubmitOptions): Promise<SubmitResult>;
  /** Throws notFound("job", id). */
  getJob(id: string): Promise<Job>;
  /** Newest first; `nextCursor` is opaque to clients. */
  listJobs(query: JobListQuery): Promise<JobPage>;
  /**
   * Every finished epoch in order, or only those after `afterEpoch` (a follower that has the
   * rest); throws notFound("job", id).
   */
  jobMetrics(id: string, afterEpoch?: number): Promise<JobMetrics>;
  /**
   * Queued jobs are cancelled at once, running ones at their next epoch boundary. Throws
   * conflict(...) when the job already finished, notFound("job", id) when it does not exist.
   */
  cancel(id: string): Promise<Job>;
}

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
  /** With the prediction log on (PREDICTION_LOG_RATE): each row's id for feedback. */
  predictionIds?: (string | null)[];
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

export interface ModelRegistry {
  list(): Promise<ModelList>;
  /** Throws notFound("model", name). */
  get(name: string): Promise<Model>;
  /**
   * Deletes the model with every version, job and metric (a job still training loses its lease
   * and stops at its next heartbeat); throws notFound.
   */
  delete(name: string): Promise<void>;
}

export interface Readiness {
  /** Never throws: a failing dependency is reported as a check with ok: false. */
  check(): Promise<ReadinessReport>;
}

export interface Services {
  training: TrainingService;
  datasets: DatasetService;
  prediction: PredictionService;
  models: ModelRegistry;
  /** ONNX and portable-file export, and import of a portable file. */
  modelFiles: ModelFileService;
  readiness: Readiness;
  /** Batch scoring over stored datasets (src/prediction/batch); absent, its routes are too. */
  batch?: BatchScoringService;
  /** /predict on CSV bodies and rows with passthrough columns (src/prediction/tabular). */
  tables?: TablePredictionService;
  /** /predict with `"explain": true` (src/prediction/explain). */
  explain?: ExplainService;
  /** Drift of live inputs against the training data (src/prediction/drift). */
  drift?: DriftService;
  /** Feedback and live accuracy (src/prediction/feedback). */
  feedback?: FeedbackService;
}
