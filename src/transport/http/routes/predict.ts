/**
 * POST /predict: run a trained model on a batch of rows. The body is read into packed rows when
 * it has the usual shape (../packed-predict-body.ts), else parsed and checked as any JSON body.
 */
import { Readable } from "node:stream";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { toPredictResponse } from "../../../prediction/predict-response.ts";
import type { PredictRequest, PredictResponse } from "../../../prediction/request.ts";
import { predictResponseSchema, routingKey } from "../../../prediction/request.ts";
import { jsonTextParser } from "../json-parser.ts";
import { PackedPredictBody, readPackedPredictBody } from "../packed-predict-body.ts";
import { zodValidatorCompiler } from "../validator.ts";
import {
  answer,
  isTable,
  type Passthrough,
  predictCsvQuerySchema,
  tablePredict,
} from "./predict-tables.ts";
import { problems, type RouteOptions } from "./shared.ts";

/** A sticky split's routing key, for clients that would rather not change the body. */
const ROUTING_KEY_HEADER = "x-routing-key";

export const predictRoutes: FastifyPluginAsyncZod<RouteOptions> = async (
  app,
  { services, schemas },
) => {
  const parseJson = jsonTextParser(app);
  const maxRows = schemas.limits.maxPredictRows;
  const bodyLimit = app.initialConfig.bodyLimit ?? 1024 * 1024;
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const bytes = body as Buffer;
    try {
      const packed = readPackedPredictBody(bytes, maxRows);
      done(null, packed ?? (bytes.length === 0 ? undefined : parseJson(request, bytes.toString())));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // A CSV body stays a stream: predict-tables.ts reads it with its own byte and row limits.
  app.addContentTypeParser("text/csv", (_request, payload, done) => done(null, payload));

  app.post(
    "/predict",
    {
      schema: {
        operationId: "predict",
        tags: ["prediction"],
        summary: "Outputs (and classes, for classifiers) of a model version for each input row",
        body: schemas.predictRequest,
        headers: z.looseObject({
          "x-routing-key": routingKey
            .optional()
            .describe("The routing key of a sticky split, if the body has none"),
        }),
        // For a text/csv body, which carries rows only.
        querystring: predictCsvQuerySchema,
        consumes: ["application/json", "text/csv"],
        produces: ["application/json", "text/csv"],
        response: { 200: predictResponseSchema, ...problems(400, 404, 409, 413, 415, 503) },
      },
      // A packed body is already what the schema would make of it; any other meets the schema.
      validatorCompiler: (route) => {
        const validate = zodValidatorCompiler(
          route as unknown as Parameters<typeof zodValidatorCompiler>[0],
        );
        return (data) =>
          data instanceof PackedPredictBody || data instanceof Readable
            ? { value: data }
            : validate(data);
      },
      // The schema documents the reply; checking every output number against it again on the
      // way out would cost more than a small model's forward pass.
      serializerCompiler: () => (data) => (typeof data === "string" ? data : JSON.stringify(data)),
    },
    async (request, reply) => {
      const body = request.body as PredictRequest | PackedPredictBody | Readable;
      const header = request.headers[ROUTING_KEY_HEADER];
      const routingKey = typeof header === "string" && header !== "" ? header : undefined;
      let response: PredictResponse;
      let passthrough: Passthrough | undefined;
      if (body instanceof Readable || (!(body instanceof PackedPredictBody) && isTable(body))) {
        ({ response, passthrough } = await tablePredict(
          request,
          services,
          maxRows,
          bodyLimit,
          // No network takes more inputs (MAX_UNITS); passthrough columns fit in that too.
          schemas.limits.maxUnits,
        ));
      } else if (!(body instanceof PackedPredictBody)) {
        const keyed =
          routingKey === undefined || body.routingKey !== undefined
            ? body
            : { ...body, routingKey };
        response =
          body.explain && services.explain
            ? await services.explain.predict(keyed)
            : await services.prediction.predict(keyed);
      } else {
        const { values, rows, width } = body.inputs;
        const { bytes } = body;
        response = toPredictResponse(
          await services.prediction.predictRows(
            { model: body.model, version: body.version, routingKey },
            {
              kind: "packed",
              values,
              rows,
              width,
              // Read again only for a version with preprocessing; the reader has vetted the JSON.
              raw: bytes
                ? () => (JSON.parse(Buffer.from(bytes).toString()) as PredictRequest).inputs
                : undefined,
            },
          ),
        );
      }
      return answer(request, reply, response, passthrough);
    },
  );
};
