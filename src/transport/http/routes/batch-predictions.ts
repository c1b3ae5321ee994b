/**
 * Batch scoring (src/prediction/batch): POST /models/{name}/batch-predictions queues a job over
 * a stored dataset (202 + Location), GET /batch-predictions/{id} follows it, and
 * GET /batch-predictions/{id}/results streams its rows: CSV with `Accept: text/csv` (or
 * `?format=csv`, for a browser download), NDJSON otherwise.
 */
import { Readable } from "node:stream";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { readCsv, type UploadLimits } from "../../../datasets/csv.ts";
import type { DatasetService } from "../../../datasets/service.ts";
import { buildTable } from "../../../datasets/table.ts";
import { parseRequest } from "../../../platform/validation/parse.ts";
import {
  type BatchPredictionRequest,
  batchModelParamsSchema,
  batchParamsSchema,
  batchPredictionRequestSchema,
  batchPredictionSchema,
} from "../../../prediction/batch/schemas.ts";
import type { BatchScoringService } from "../../../prediction/batch/service.ts";
import { zodValidatorCompiler } from "../validator.ts";
import { problems } from "./shared.ts";

const resultsQuerySchema = z.strictObject({ format: z.enum(["csv", "ndjson"]).optional() });

/** With a text/csv body, the options come in the query (passthrough comma-separated). */
const uploadQuerySchema = z.object({
  version: z.coerce.number().pipe(z.int().min(1, "must be a whole number >= 1")).optional(),
  passthrough: z.string().optional(),
  ignoreExtraColumns: z.enum(["true", "false"]).optional(),
  explain: z.enum(["true", "false"]).optional(),
});

export interface BatchPredictionRouteOptions {
  batch: BatchScoringService;
  /** For a CSV uploaded with the request: stored as a dataset first, under its upload limits. */
  datasets: DatasetService;
  limits: UploadLimits;
}

export const batchPredictionRoutes: FastifyPluginAsyncZod<BatchPredictionRouteOptions> = async (
  app,
  { batch, datasets, limits },
) => {
  // The CSV stays a stream: readCsv counts its bytes and rows as they arrive.
  app.addContentTypeParser("text/csv", (_request, payload, done) => done(null, payload));

  app.post(
    "/models/:name/batch-predictions",
    {
      schema: {
        operationId: "startBatchPrediction",
        tags: ["prediction"],
        summary:
          "Score every row of a stored dataset (or of a CSV uploaded with the request, stored as a dataset first) as a durable job",
        params: batchModelParamsSchema,
        body: batchPredictionRequestSchema,
        querystring: uploadQuerySchema,
        consumes: ["application/json", "text/csv"],
        response: { 202: batchPredictionSchema, ...problems(400, 404, 409, 413, 415) },
      },
      validatorCompiler: (route) => {
        const validate = zodValidatorCompiler(
          route as unknown as Parameters<typeof zodValidatorCompiler>[0],
        );
        return (data) => (data instanceof Readable ? { value: data } : validate(data));
      },
    },
    async (request, reply) => {
      const body = request.body as BatchPredictionRequest | Readable;
      if (body instanceof Readable) {
        const query = request.query;
        const table = buildTable(await readCsv(body, limits));
        const options = parseRequest(batchPredictionRequestSchema.omit({ dataset: true }), {
          ...(query.version === undefined ? {} : { version: query.version }),
          passthrough: query.passthrough ? query.passthrough.split(",").map((c) => c.trim()) : [],
          ignoreExtraColumns: query.ignoreExtraColumns === "true",
          explain: query.explain === "true",
        });
        const dataset = await datasets.create(`batch-${request.params.name}`, table);
        // A request refused after the upload leaves nothing behind.
        const job = await batch
          .submit(request.params.name, { ...options, dataset: dataset.id })
          .catch(async (error: unknown) => {
            await datasets.delete(dataset.id);
            throw error;
          });
        return reply.code(202).header("location", `/batch-predictions/${job.id}`).send(job);
      }
      const job = await batch.submit(request.params.name, body);
      return reply.code(202).header("location", `/batch-predictions/${job.id}`).send(job);
    },
  );

  app.get(
    "/batch-predictions/:id",
    {
      schema: {
        operationId: "getBatchPrediction",
        tags: ["prediction"],
        summary: "A batch scoring job: status and rows scored",
        params: batchParamsSchema,
        response: { 200: batchPredictionSchema, ...problems(400, 404) },
      },
    },
    async (request) => batch.get(request.params.id),
  );

  app.get(
    "/batch-predictions/:id/results",
    {
      schema: {
        operationId: "getBatchPredictionResults",
        tags: ["prediction"],
        summary:
          "The scored rows in dataset order: passthrough columns, then label and probabilities or value (CSV or NDJSON)",
        params: batchParamsSchema,
        querystring: resultsQuerySchema,
        produces: ["application/x-ndjson", "text/csv"],
        response: {
          // A stream, documented as the text it carries.
          200: z
            .unknown()
            .meta({ type: "string" })
            .describe("NDJSON (one object a row) or CSV with a header row"),
          ...problems(400, 404, 409),
        },
      },
      serializerCompiler: () => (data) => data as string,
    },
    async (request, reply) => {
      const csv =
        request.query.format === "csv" ||
        (request.query.format === undefined && /\btext\/csv\b/.test(request.headers.accept ?? ""));
      const rows = await batch.results(request.params.id, csv ? "csv" : "ndjson");
      return reply
        .type(csv ? "text/csv; charset=utf-8" : "application/x-ndjson")
        .header(
          "content-disposition",
          `attachment; filename="batch-${request.params.id}.${csv ? "csv" : "ndjson"}"`,
        )
        .send(Readable.from(rows));
    },
  );
};
