/**
 * The operations the transports call. REST and gRPC both depend on these interfaces only; the
 * Postgres-backed implementations are wired in server.ts. Requests arrive already parsed by the
 * shared schemas (defaults filled in), and failures are thrown as AppError (notFound, conflict,
 * validationError, unavailable...), never as transport-specific errors.
 */

import type { DatasetService } from "../datasets/service.ts";
import type { Readiness } from "../platform/readiness.ts";
import type { BatchScoringService } from "../prediction/batch/service.ts";
import type { PredictionService } from "../prediction/contract.ts";
import type { DriftService } from "../prediction/drift/service.ts";
import type { ExplainService } from "../prediction/explain/service.ts";
import type { FeedbackService } from "../prediction/feedback/service.ts";
import type { TablePredictionService } from "../prediction/tabular/service.ts";
import type { TrafficService } from "../prediction/traffic/service.ts";
import type { TrainingService } from "../training/contract.ts";
import type { StudyService } from "../training/studies/contract.ts";

export type { PredictionService, TensorPrediction } from "../prediction/contract.ts";

import type { AliasService } from "../versions/aliases/service.ts";
import type { ModelFileService } from "../versions/model-files.ts";
import type { ModelRegistry } from "../versions/registry.ts";

export type { Readiness } from "../platform/readiness.ts";
// Each feature declares the interface it implements; the transports import them all from here.
export type {
  SubmitOptions,
  SubmitResult,
  Submitter,
  TrainingService,
} from "../training/contract.ts";
export type { CreateStudyOptions, StudyService } from "../training/studies/contract.ts";
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
  /** Hyper-parameter studies (src/training/studies); absent, the /studies routes are too. */
  studies?: StudyService;
}
