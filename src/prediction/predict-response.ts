/** A prediction on packed rows as the `/predict` (and gRPC `Predict`) reply: a row of numbers per row. */

import type { TensorPrediction } from "../transport/services.ts";
import type { PredictResponse } from "./request.ts";

export function toPredictResponse(result: TensorPrediction): PredictResponse {
  const { rows, units, outputs: y } = result;
  const outputs: number[][] = new Array(rows);
  for (let r = 0; r < rows; r++) outputs[r] = Array.from(y.subarray(r * units, (r + 1) * units));
  const response: PredictResponse = { model: result.model, version: result.version, outputs };
  if (result.classes) response.classes = result.classes;
  if (result.predictions) response.predictions = result.predictions;
  if (result.predictionIds) response.predictionIds = result.predictionIds;
  return response;
}
