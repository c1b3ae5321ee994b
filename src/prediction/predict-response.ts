/** A prediction on packed rows as the `/predict` (and gRPC `Predict`) reply: a row of numbers per row. */

import type { TensorPrediction } from "./contract.ts";
import { unpackRows } from "./packed-rows.ts";
import type { PredictResponse } from "./request.ts";

export function toPredictResponse(result: TensorPrediction): PredictResponse {
  const { rows, units, outputs: y } = result;
  const outputs = unpackRows(y, rows, units);
  const response: PredictResponse = { model: result.model, version: result.version, outputs };
  if (result.alias !== undefined) response.alias = result.alias;
  if (result.classes) response.classes = result.classes;
  if (result.predictions) response.predictions = result.predictions;
  if (result.predictionIds) response.predictionIds = result.predictionIds;
  return response;
}
