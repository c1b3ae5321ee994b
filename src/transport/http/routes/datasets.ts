/**
 * Datasets: POST /datasets?name=...[&types=col:numeric,...] with the table as text/csv,
 * multipart/form-data (the file in field "file") or application/json (an array of records);
 * GET /datasets (paged), GET and DELETE /datasets/{id}. Uploads are read as streams with their
 * own byte and row limits (DATASET_MAX_BYTES, DATASET_MAX_ROWS; 413 past them), not the
 * general body limit.
 */
import type { Readable } from "node:stream";
import fastifyMultipart from "@fastify/multipart";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { readCsv, tooManyBytes, type UploadLimits } from "../../../datasets/csv.ts";
import {
  datasetListQuerySchema,
  datasetPageSchema,
  datasetParamsSchema,
  datasetSchema,
  datasetUploadQuerySchema,
  missingMarkersSchema,
} from "../../../datasets/schemas.ts";
import type { DatasetService } from "../../../datasets/service.ts";
import { buildTable, type RawTable } from "../../../datasets/table.ts";
import { readText, recordsFromJson } from "../../../datasets/upload.ts";
import { isAppError, malformedRequest, validationError } from "../../../platform/errors.ts";
import { parseRequest } from "../../../platform/validation/parse.ts";
import { problems } from "./shared.ts";

export interface DatasetRouteOptions {
  datasets: DatasetService;
  limits: UploadLimits;
}

const UPLOAD_TYPES = ["text/csv", "multipart/form-data", "application/json"];

export const datasetRoutes: FastifyPluginAsyncZod<DatasetRouteOptions> = async (
  app,
  { datasets, limits },
) => {
  // The body stays a stream: readCsv and readJson count its bytes as they arrive.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser(["text/csv", "application/json"], (_request, payload, done) =>
    done(null, payload),
  );
  await app.register(fastifyMultipart, {
    // The file, and optionally the field "missing" before it (the query's `missing=`).
    limits: { fileSize: limits.maxBytes, files: 1, fields: 1, parts: 2 },
  });

  app.post(
    "/datasets",
    {
      schema: {
        operationId: "createDataset",
        tags: ["datasets"],
        summary: "Upload a dataset (CSV, a CSV file in a form, or JSON records)",
        querystring: datasetUploadQuerySchema,
        consumes: UPLOAD_TYPES,
        response: { 201: datasetSchema, ...problems(400, 413, 415) },
      },
    },
    async (request, reply) => {
      const table = await readUpload(request, limits, request.query.missing);
      const built = buildTable(table, request.query.types);
      const dataset = await datasets.create(request.query.name, built);
      return reply.code(201).header("location", `/datasets/${dataset.id}`).send(dataset);
    },
  );

  app.get(
    "/datasets",
    {
      schema: {
        operationId: "listDatasets",
        tags: ["datasets"],
        summary: "Datasets, newest first",
        querystring: datasetListQuerySchema,
        response: { 200: datasetPageSchema, ...problems(400) },
      },
    },
    async (request) => datasets.list(request.query),
  );

  app.get(
    "/datasets/:id",
    {
      schema: {
        operationId: "getDataset",
        tags: ["datasets"],
        summary: "A dataset's columns, types and statistics",
        params: datasetParamsSchema,
        response: { 200: datasetSchema, ...problems(400, 404) },
      },
    },
    async (request) => datasets.get(request.params.id),
  );

  app.delete(
    "/datasets/:id",
    {
      schema: {
        operationId: "deleteDataset",
        tags: ["datasets"],
        summary: "Delete a dataset (models trained from it keep working)",
        params: datasetParamsSchema,
        response: { 204: z.undefined().describe("Deleted"), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      await datasets.delete(request.params.id);
      return reply.code(204).send();
    },
  );
};

async function readUpload(
  request: FastifyRequest,
  limits: UploadLimits,
  missing?: readonly string[],
): Promise<RawTable> {
  if (request.isMultipart()) return readForm(request, limits, missing);
  const body = request.body as Readable | undefined;
  const type = request.headers["content-type"] ?? "";
  if (!body) {
    throw validationError([{ path: "file", message: "is empty; send the dataset in the body" }]);
  }
  if (type.startsWith("text/csv")) return readCsv(body, limits, missing);
  return recordsFromJson(await readText(body, limits.maxBytes), limits);
}

/**
 * The form's CSV file in field "file", read as it streams, with optionally the field "missing"
 * before it (the query's `missing=` wins); another part is refused rather than dropped, and so
 * is a body busboy cannot read.
 */
async function readForm(
  request: FastifyRequest,
  limits: UploadLimits,
  missing?: readonly string[],
): Promise<RawTable> {
  let table: RawTable | undefined;
  let markers = missing;
  try {
    for await (const part of request.parts()) {
      if (table === undefined && part.type === "field" && part.fieldname === "missing") {
        const value = { missing: String(part.value) };
        markers ??= parseRequest(z.object({ missing: missingMarkersSchema }), value).missing;
        continue;
      }
      if (table !== undefined || part.type !== "file" || part.fieldname !== "file") {
        if (part.type === "file") part.file.resume();
        if (table !== undefined) throw onePartOnly();
        break;
      }
      table = await readCsv(part.file, limits, markers);
    }
  } catch (error) {
    throw fromMultipartError(error, limits);
  }
  if (!table) {
    throw validationError(
      [{ path: "file", message: 'is required: send the CSV in the form field "file"' }],
      'The form has no field "file" with the CSV.',
    );
  }
  return table;
}

const onePartOnly = () =>
  malformedRequest(
    'The form may hold one part only: the CSV file in field "file" (and, before it, the field "missing").',
  );

function fromMultipartError(error: unknown, limits: UploadLimits): unknown {
  const code = (error as { code?: string }).code;
  if (code === "FST_REQ_FILE_TOO_LARGE") return tooManyBytes(limits.maxBytes);
  if (code === "FST_PARTS_LIMIT" || code === "FST_FILES_LIMIT" || code === "FST_FIELDS_LIMIT") {
    return onePartOnly();
  }
  if (code === "FST_INVALID_MULTIPART_CONTENT_TYPE" || code === "FST_NO_FORM_DATA") {
    return malformedRequest("The multipart/form-data body could not be read.");
  }
  // busboy's own words for a body that is not the form it claims to be (no boundary, a
  // truncated part, a bad part header): the client's mistake, not ours.
  if (
    !isAppError(error) &&
    error instanceof Error &&
    /boundary|unexpected end of (form|multipart)|malformed part header|part terminated/i.test(
      error.message,
    )
  ) {
    return malformedRequest(`The multipart/form-data body could not be read: ${error.message}.`);
  }
  return error;
}
