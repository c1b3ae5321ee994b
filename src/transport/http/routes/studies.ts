/**
 * Studies (hyper-parameter search, docs/studies.md): create, list, inspect, cancel, the curves of
 * every trial. The event stream is routes/study-events.ts. Registered only when the server runs
 * a StudyService.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  studyCurvesSchema,
  studyListQuerySchema,
  studyPageSchema,
  studyParamsSchema,
  studySchema,
} from "../../../training/studies/schemas.ts";
import type { RequestSchemas } from "../../request-schemas.ts";
import type { StudyService } from "../../services.ts";
import { problems } from "./shared.ts";

export interface StudyRouteOptions {
  studies: StudyService;
  schemas: RequestSchemas;
}

export const studyRoutes: FastifyPluginAsyncZod<StudyRouteOptions> = async (
  app,
  { studies, schemas },
) => {
  app.post(
    "/studies",
    {
      schema: {
        operationId: "createStudy",
        tags: ["studies"],
        summary: "Start a hyper-parameter search: trials sampled from a space, pruned by ASHA",
        description:
          "Checks the request against the dataset (target, objective metric, network size, maxConcurrent within the key's job limit) and stores nothing when it is refused. The trials' segments are ordinary training jobs, queued as the study runs.",
        body: schemas.studyRequest,
        response: {
          202: studySchema.describe("Stored; follow it at the Location URL"),
          ...problems(400, 413, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      // With AUTH on, the trials' jobs are submitted as the caller's key and count against its
      // job limit.
      const study = await studies.create(
        request.body,
        request.caller ? { submitter: request.caller } : {},
      );
      reply.code(202).header("location", `/studies/${study.id}`);
      return study;
    },
  );

  app.get(
    "/studies",
    {
      schema: {
        operationId: "listStudies",
        tags: ["studies"],
        summary: "List studies, newest first, optionally by model and status",
        querystring: studyListQuerySchema,
        response: { 200: studyPageSchema, ...problems(400) },
      },
    },
    async (request) => studies.list(request.query),
  );

  app.get(
    "/studies/:id",
    {
      schema: {
        operationId: "getStudy",
        tags: ["studies"],
        summary: "A study: its trials (leaderboard), the best so far, the epochs spent",
        params: studyParamsSchema,
        response: { 200: studySchema, ...problems(400, 404) },
      },
    },
    async (request) => studies.get(request.params.id),
  );

  app.post(
    "/studies/:id/cancel",
    {
      schema: {
        operationId: "cancelStudy",
        tags: ["studies"],
        summary:
          "Cancel a running study: queued segments at once, running ones at their next epoch",
        params: studyParamsSchema,
        response: { 202: studySchema, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const study = await studies.cancel(request.params.id);
      reply.code(202);
      return study;
    },
  );

  app.get(
    "/studies/:id/curves",
    {
      schema: {
        operationId: "getStudyCurves",
        tags: ["studies"],
        summary: "Every epoch each trial trained, across its segments",
        params: studyParamsSchema,
        response: { 200: studyCurvesSchema, ...problems(400, 404) },
      },
    },
    async (request) => studies.curves(request.params.id),
  );
};
