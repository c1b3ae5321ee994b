/**
 * Operating a version: drift of its live inputs (GET .../drift?window=1h), the truth sent back
 * for its predictions (POST /models/{name}/feedback) and its live accuracy or MAE
 * (GET .../performance?window=1d).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { modelName, modelVersion, strictObject } from "../../../platform/validation/common.ts";
import { type DriftService, driftReportSchema } from "../../../prediction/drift/service.ts";
import {
  feedbackRequestSchema,
  feedbackResponseSchema,
  performanceSchema,
} from "../../../prediction/feedback/schemas.ts";
import type { FeedbackService } from "../../../prediction/feedback/service.ts";
import { problems } from "./shared.ts";

const versionParams = strictObject({
  name: modelName,
  version: z.coerce.number().pipe(modelVersion),
});
const windowQuery = (fallback: string) =>
  strictObject({
    window: z
      .string()
      .default(fallback)
      .describe("A whole number of minutes, hours or days: 15m, 1h, 7d (at most 30d)"),
  });

export const operateRoutes: FastifyPluginAsyncZod<{
  drift?: DriftService;
  feedback?: FeedbackService;
}> = async (app, { drift, feedback }) => {
  if (drift)
    app.get(
      "/models/:name/versions/:version/drift",
      {
        schema: {
          operationId: "getDrift",
          tags: ["models"],
          summary: "PSI per feature of the live inputs in a window against the training data",
          params: versionParams,
          querystring: windowQuery("1h"),
          response: { 200: driftReportSchema, ...problems(400, 404, 409) },
        },
      },
      async (request) =>
        drift.report(request.params.name, request.params.version, request.query.window),
    );

  if (feedback) {
    app.post(
      "/models/:name/feedback",
      {
        schema: {
          operationId: "sendFeedback",
          tags: ["prediction"],
          summary: "The true label or value of logged predictions, by predictionId",
          params: strictObject({ name: modelName }),
          body: feedbackRequestSchema,
          response: { 200: feedbackResponseSchema, ...problems(400, 404) },
        },
      },
      async (request) => feedback.submit(request.params.name, request.body),
    );

    app.get(
      "/models/:name/versions/:version/performance",
      {
        schema: {
          operationId: "getPerformance",
          tags: ["models"],
          summary:
            "Live accuracy or MAE of a version over the predictions of a window with feedback",
          params: versionParams,
          querystring: windowQuery("1d"),
          response: { 200: performanceSchema, ...problems(400, 404, 409) },
        },
      },
      async (request) =>
        feedback.performance(request.params.name, request.params.version, request.query.window),
    );
  }
};
