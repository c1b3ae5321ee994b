/**
 * A version as a file: ONNX (binary, for onnxruntime and friends) and nnserve's portable JSON
 * file, and the import of a portable file as a new version (src/versions/model-files.ts).
 */
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { modelFileSchema, modelVersionParamsSchema } from "../../../versions/model-file-schema.ts";
import { ONNX_MEDIA_TYPE } from "../../../versions/model-files.ts";
import { modelParamsSchema, modelVersionSchema } from "../../../versions/schemas.ts";
import { problems, type RouteOptions } from "./shared.ts";

export interface ModelFileRouteOptions extends RouteOptions {
  /** POST /models/{name}/import's own body limit (IMPORT_BODY_LIMIT_BYTES). */
  importBodyLimit: number;
}

/** RFC 6266: a plain ASCII filename (model names are [a-z0-9._-] already). */
const attachment = (filename: string) => `attachment; filename="${filename}"`;

/** Bytes go out as they are: the response schema above only documents them. */
function sendBytes(reply: FastifyReply, filename: string, content: Uint8Array) {
  return reply
    .type(ONNX_MEDIA_TYPE)
    .header("content-disposition", attachment(filename))
    .send(Buffer.from(content.buffer, content.byteOffset, content.byteLength));
}

export const modelFileRoutes: FastifyPluginAsyncZod<ModelFileRouteOptions> = async (
  app,
  { services, importBodyLimit },
) => {
  const files = services.modelFiles;

  app.get(
    "/models/:name/versions/:version/onnx",
    {
      schema: {
        operationId: "exportOnnx",
        tags: ["models"],
        summary: "A ready version as an ONNX model (opset 13), to run with onnxruntime",
        params: modelVersionParamsSchema,
        response: {
          200: {
            description: "The ONNX model (protobuf)",
            content: {
              [ONNX_MEDIA_TYPE]: { schema: z.string().meta({ format: "binary" }) },
            },
          },
          ...problems(400, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const { name, version } = request.params;
      const { filename, content } = await files.exportOnnx(name, version);
      return sendBytes(reply, filename, content);
    },
  );

  app.get(
    "/models/:name/versions/:version/export",
    {
      schema: {
        operationId: "exportModel",
        tags: ["models"],
        summary:
          "A ready version as nnserve's portable model file (JSON), for POST /models/{name}/import",
        params: modelVersionParamsSchema,
        response: { 200: modelFileSchema, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { name, version } = request.params;
      const { filename, file } = await files.exportFile(name, version);
      reply.header("content-disposition", attachment(filename));
      return file;
    },
  );

  app.post(
    "/models/:name/import",
    {
      bodyLimit: importBodyLimit,
      config: { tooLargeAdvice: "the server's IMPORT_BODY_LIMIT_BYTES sets it" },
      schema: {
        operationId: "importModel",
        tags: ["models"],
        summary:
          "Load a portable model file as the next version of the model (created if new), ready to predict",
        params: modelParamsSchema,
        body: modelFileSchema,
        response: { 201: modelVersionSchema, ...problems(400, 413, 415) },
      },
    },
    async (request, reply) => {
      const version = await files.importFile(
        request.params.name,
        request.body,
        request.caller?.prefix ?? null,
      );
      return reply.code(201).send(version);
    },
  );
};
