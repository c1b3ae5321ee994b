/** nnserve.v1.Models: the model registry, as GET/DELETE /models of the REST API. */
import type { ModelsHandlers } from "../generated/grpc/nnserve/v1/Models.ts";
import type { Logger } from "../logger.ts";
import { modelParamsSchema } from "../schemas/models.ts";
import { parseRequest } from "../schemas/parse.ts";
import type { ModelRegistry } from "../services/types.ts";
import { modelSummaryToMessage, modelToMessage } from "./convert.ts";
import { unary } from "./status.ts";

export interface ModelsHandlerDeps {
  models: ModelRegistry;
  logger: Logger;
}

export function modelsHandlers({ models, logger }: ModelsHandlerDeps): ModelsHandlers {
  const name = (value: string) => parseRequest(modelParamsSchema, { name: value }).name;
  return {
    ListModels: unary(logger, "ListModels", async () => {
      const list = await models.list();
      return { items: list.items.map(modelSummaryToMessage) };
    }),
    GetModel: unary(logger, "GetModel", async (req) =>
      modelToMessage(await models.get(name(req.name))),
    ),
    DeleteModel: unary(logger, "DeleteModel", async (req) => {
      await models.delete(name(req.name));
      return {};
    }),
  };
}
