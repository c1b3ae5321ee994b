/**
 * What the prediction feature offers the transports (re-exported by transport/services.ts) and
 * what it tells the metrics: declared here, by the feature that implements it.
 */

import type { Prediction } from "../versions/preprocessing/decode.ts";
import type { BatchObserver } from "./batcher.ts";
import type { PackedInput, PredictTarget } from "./input.ts";
import type { PredictRequest, PredictResponse } from "./request.ts";

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
  /**
   * The same, on rows a transport has packed (see src/prediction/input.ts); the width errors
   * have the same paths (`inputs[3]`).
   */
  predictRows(target: PredictTarget, rows: PackedInput): Promise<TensorPrediction>;
}

/** What the metrics see of prediction. */
export interface PredictionObserver extends BatchObserver, ShadowObserver {
  /** One predict call on a resolved version, from arrival to outputs (or failure). */
  inference?(model: string, rows: number, seconds: number, ok: boolean): void;
  /** One request answered (or failed) by this version. */
  served?(model: string, version: number, ok: boolean): void;
}

/** What the metrics see of a shadow version's comparisons. */
export interface ShadowObserver {
  /** After each compared run: the shadow's agreement so far (classifiers) or mean |difference|. */
  shadowCompared?(
    model: string,
    version: number,
    agreement: number | null,
    meanAbsDiff: number | null,
  ): void;
}
