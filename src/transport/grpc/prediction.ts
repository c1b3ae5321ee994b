/**
 * nnserve.v1.Prediction: rows that pass the predict schema as they stand go to the prediction
 * service packed, as they came; anything else meets the schema, which says what is wrong.
 */

import type { PredictionHandlers } from "../../generated/grpc/nnserve/v1/Prediction.ts";
import { validationError } from "../../platform/errors.ts";
import type { Logger } from "../../platform/logger.ts";
import { MAX_MODEL_VERSION } from "../../platform/validation/common.ts";
import { parseRequest } from "../../platform/validation/parse.ts";
import { packRows } from "../../prediction/packed-rows.ts";
import { packedRowsPass } from "../../prediction/request.ts";
import type { RequestSchemas } from "../request-schemas.ts";
import type { PredictionService } from "../services.ts";
import {
  packedRowsFromMessage,
  predictionsToMessage,
  rawRowsFromMessage,
  rowsFromMessage,
  rowsToMessage,
} from "./convert.ts";
import { unary } from "./status.ts";

export interface PredictionHandlerDeps {
  prediction: PredictionService;
  schemas: RequestSchemas;
  logger: Logger;
}

export function predictionHandlers({
  prediction,
  schemas,
  logger,
}: PredictionHandlerDeps): PredictionHandlers {
  return {
    Predict: unary(logger, "Predict", async (req) => {
      const version = req.version;
      // Routing fields, passed on as /predict's body has them (the schema checks them below).
      const routing = {
        ...(req.alias !== undefined && { alias: req.alias }),
        ...(req.routingKey !== undefined && { routingKey: req.routingKey }),
      };
      if (req.rows.length > 0) {
        // Raw rows for a version with preprocessing: the JSON path, as POST /predict takes them.
        if (req.inputs) {
          throw validationError([{ path: "rows", message: "set inputs or rows, not both" }]);
        }
        const body = parseRequest(schemas.predictRequest, {
          model: req.model,
          ...(version !== undefined && { version }),
          ...routing,
          inputs: rawRowsFromMessage(req.rows),
        });
        const result = await prediction.predict(body);
        return {
          model: result.model,
          version: result.version,
          ...(result.alias !== undefined && { alias: result.alias }),
          outputs: {
            width: result.outputs[0]?.length ?? 0,
            values: result.outputs.flat(),
          },
          classes: result.classes ?? [],
          predictions: predictionsToMessage(result.predictions),
        };
      }
      let inputs = packedRowsFromMessage(req.inputs, "inputs");
      if (
        !inputs ||
        (version !== undefined && (version < 1 || version > MAX_MODEL_VERSION)) ||
        routing.alias !== undefined ||
        routing.routingKey !== undefined ||
        !packedRowsPass(req.model, inputs.rows, inputs.width, schemas.limits.maxPredictRows)
      ) {
        const body = parseRequest(schemas.predictRequest, {
          model: req.model,
          ...(version !== undefined && { version }),
          ...routing,
          inputs: rowsFromMessage(req.inputs, "inputs"),
        });
        // Message rows are numbers: the schema has checked them as a matrix.
        const rows = body.inputs as number[][];
        const width = rows[0]!.length;
        inputs = { values: packRows(rows, width), rows: body.inputs.length, width };
      }
      const result = await prediction.predictRows(
        { model: req.model, ...(version !== undefined && { version }), ...routing },
        { kind: "packed", ...inputs },
      );
      // Answer in the form the client used.
      const packed = (req.inputs?.packed.length ?? 0) > 0;
      return {
        model: result.model,
        version: result.version,
        ...(result.alias !== undefined && { alias: result.alias }),
        outputs: rowsToMessage(result.outputs, result.units, packed),
        classes: result.classes ?? [],
        predictions: predictionsToMessage(result.predictions),
      };
    }),
  };
}
