/** POST /predict: run a trained model on a batch of rows. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { predictResponseSchema } from "../../schemas/predict.ts";
import { problems, type RouteOptions } from "./shared.ts";

export const predictRoutes: FastifyPluginAsyncZod<RouteOptions> = async (
  app,
  { services, schemas },
) => {
  app.post(
    "/predict",
    {
      schema: {
        operationId: "predict",
        tags: ["prediction"],
        summary: "Outputs (and classes, for classifiers) of a model version for each input row",
        body: schemas.predictRequest,
        response: { 200: predictResponseSchema, ...problems(400, 404, 409, 413, 415, 503) },
      },
      // The schema documents the reply; checking every output number against it again on the
      // way out would cost more than a small model's forward pass.
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (request) => services.prediction.predict(request.body),
  );
};
