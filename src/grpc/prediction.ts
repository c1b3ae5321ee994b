/** nnserve.v1.Prediction: the shared predict schema, then PredictionService.predict. */
import type { PredictionHandlers } from "../generated/grpc/nnserve/v1/Prediction.ts";
import type { Logger } from "../logger.ts";
import { parseRequest } from "../schemas/parse.ts";
import type { RequestSchemas } from "../schemas/requests.ts";
import type { PredictionService } from "../services/types.ts";
import { rowsFromMessage, rowsToMessage } from "./convert.ts";
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
      const body = parseRequest(schemas.predictRequest, {
        model: req.model,
        ...(req.version !== undefined && { version: req.version }),
        inputs: rowsFromMessage(req.inputs, "inputs"),
      });
      const result = await prediction.predict(body);
      // Answer in the form the client used.
      const packed = (req.inputs?.packed.length ?? 0) > 0;
      return {
        model: result.model,
        version: result.version,
        outputs: rowsToMessage(result.outputs, packed),
        classes: result.classes ?? [],
      };
    }),
  };
}
