/**
 * nnserve.v1.Models: the model registry, as GET/DELETE /models of the REST API, and a version
 * as a file (ONNX, the portable model file) and back, as .../onnx, .../export and .../import.
 */

import type { ModelsHandlers } from "../../generated/grpc/nnserve/v1/Models.ts";
import { malformedRequest } from "../../platform/errors.ts";
import type { Logger } from "../../platform/logger.ts";
import { parseRequest } from "../../platform/validation/parse.ts";
import { modelFileSchema, modelVersionParamsSchema } from "../../versions/model-file-schema.ts";
import { type ModelFileService, ONNX_MEDIA_TYPE } from "../../versions/model-files.ts";
import { modelParamsSchema } from "../../versions/schemas.ts";
import type { ModelRegistry } from "../services.ts";
import { callerOf } from "./auth-guard.ts";
import { modelSummaryToMessage, modelToMessage, versionToMessage } from "./convert.ts";
import { unary } from "./status.ts";

export interface ModelsHandlerDeps {
  models: ModelRegistry;
  modelFiles: ModelFileService;
  logger: Logger;
}

/** The portable file's bytes as JSON, refused with where the JSON broke. */
function parseFileContent(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString("utf8"));
  } catch (error) {
    throw malformedRequest(`content is not a JSON model file: ${(error as Error).message}.`);
  }
}

export function modelsHandlers({ models, modelFiles, logger }: ModelsHandlerDeps): ModelsHandlers {
  const name = (value: string) => parseRequest(modelParamsSchema, { name: value }).name;
  const versionOf = (req: { name: string; version: number }) =>
    parseRequest(modelVersionParamsSchema, { name: req.name, version: req.version });
  return {
    ListModels: unary(logger, "ListModels", async () => {
      const list = await models.list();
      return { items: list.items.map(modelSummaryToMessage) };
    }),
    GetModel: unary(logger, "GetModel", async (req) =>
      modelToMessage(await models.get(name(req.name))),
    ),
    DeleteModel: unary(logger, "DeleteModel", async (req, call) => {
      await models.delete(name(req.name), callerOf(call.metadata)?.prefix ?? null);
      return {};
    }),
    ExportOnnx: unary(logger, "ExportOnnx", async (req) => {
      const { name, version } = versionOf(req);
      const { filename, content } = await modelFiles.exportOnnx(name, version);
      return { filename, mediaType: ONNX_MEDIA_TYPE, content: Buffer.from(content) };
    }),
    ExportModel: unary(logger, "ExportModel", async (req) => {
      const { name, version } = versionOf(req);
      const { filename, file } = await modelFiles.exportFile(name, version);
      return {
        filename,
        mediaType: "application/json",
        content: Buffer.from(JSON.stringify(file)),
      };
    }),
    ImportModel: unary(logger, "ImportModel", async (req, call) => {
      const model = name(req.name);
      const file = parseRequest(modelFileSchema, parseFileContent(req.content));
      return versionToMessage(
        await modelFiles.importFile(model, file, callerOf(call.metadata)?.prefix ?? null),
      );
    }),
  };
}
