/**
 * Batch scoring (src/prediction/batch): POST /models/{name}/batch-predictions queues a job over
 * a stored dataset (202 + Location), GET /batch-predictions/{id} follows it, and
 * GET /batch-predictions/{id}/results streams its rows: CSV with `Accept: text/csv` (or
 * `?format=csv`, for a browser download), NDJSON otherwise.
 */
import { Readable } from "node:stream";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  batchModelParamsSchema,
  batchParamsSchema,
  batchPredictionRequestSchema,
  batchPredictionSchema,
} from "../../../prediction/batch/schemas.ts";
import type { BatchScoringService } from "../../../prediction/batch/service.ts";
import { problems } from "./shared.ts";

const resultsQuerySchema = z.strictObject({ format: z.enum(["csv", "ndjson"]).optional() });

export const batchPredictionRoutes: FastifyPluginAsyncZod<{ batch: BatchScoringService }> = async (
  app,
  { batch },
) => {
  app.post(
    "/models/:name/batch-predictions",
    {
      schema: {
        operationId: "startBatchPrediction",
        tags: ["prediction"],
        summary: "Score every row of a stored dataset as a durable job",
        params: batchModelParamsSchema,
        body: batchPredictionRequestSchema,
        response: { 202: batchPredictionSchema, ...problems(400, 404, 409, 415) },
      },
    },
    async (request, reply) => {
      const job = await batch.submit(request.params.name, request.body);
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
