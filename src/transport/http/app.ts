/**
 * The REST transport as a function: buildApp returns a ready-to-inject fastify instance and
 * never listens, so tests drive it with `app.inject()` and main.ts decides where it listens.
 * The application itself is one plugin (`restApiPlugin`), which main.ts or a later composition can
 * register next to other plugins (gRPC gateway, metrics) under the same error handling.
 */
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyPluginAsync, type FastifyRequest, LogController } from "fastify";
import fp from "fastify-plugin";
import {
  createJsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { KeyStore } from "../../auth/key-store.ts";
import { isUiPath } from "../../auth/scopes.ts";
import type { Config } from "../../platform/config.ts";
import { AppError } from "../../platform/errors.ts";
import type { Logger } from "../../platform/logger.ts";
import type { Metrics } from "../../platform/metrics.ts";
import { NNSERVE_VERSION } from "../../platform/package-version.ts";
import { createInferenceService } from "../../prediction/inference.ts";
import { createJobWatch, type JobWatch } from "../../training/watch.ts";
import { createRequestSchemas } from "../request-schemas.ts";
import type { Services } from "../services.ts";
import { useJsonBodies } from "./json-parser.ts";
import { authPlugin } from "./plugins/auth.ts";
import { protectionPlugin } from "./plugins/protection.ts";
import { isProbe, pathOf } from "./probes.ts";
import { handleError, sendProblem } from "./problem.ts";
import { REQUEST_ID_HEADER, requestId } from "./request-id.ts";
import { adminKeyRoutes } from "./routes/admin-keys.ts";
import { aliasRoutes } from "./routes/aliases.ts";
import { batchPredictionRoutes } from "./routes/batch-predictions.ts";
import { datasetRoutes } from "./routes/datasets.ts";
import { healthRoutes } from "./routes/health.ts";
import { jobEventRoutes } from "./routes/job-events.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { metricsPlugin } from "./routes/metrics.ts";
import { modelFileRoutes } from "./routes/model-files.ts";
import { modelRoutes } from "./routes/models.ts";
import { operateRoutes } from "./routes/operate.ts";
import { predictRoutes } from "./routes/predict.ts";
import { studyRoutes } from "./routes/studies.ts";
import { studyEventRoutes } from "./routes/study-events.ts";
import { trafficRoutes } from "./routes/traffic.ts";
import { trainRoutes } from "./routes/train.ts";
import { uiRoutes } from "./routes/ui.ts";
import { BINARY_TENSOR_DATA, v2Routes } from "./routes/v2.ts";
import { zodValidatorCompiler } from "./validator.ts";

export interface AppOptions {
  config: Config;
  logger: Logger;
  services: Services;
  /** Counts requests and serves GET /metrics; absent, neither. */
  metrics?: Metrics;
  /** True once shutdown began: new requests but probes get 503 (plugins/protection.ts). */
  shuttingDown?: () => boolean;
  /** API keys: needed with AUTH on; also brings the admin API and per-key job limits. */
  keys?: KeyStore;
  /** Follows jobs for GET /jobs/{id}/events; share it with gRPC. Default: one of its own. */
  jobWatch?: JobWatch;
}

// Probes and the docs UI would drown the log at info level. The docs UI is not a probe (it needs
// a key with AUTH on and is refused during shutdown), so it is listed here only, by prefix: the
// page and its static assets under /docs/. The dashboard's static files (/ui) likewise.
const isQuiet = (request: FastifyRequest) =>
  isProbe(request) || pathOf(request.url).startsWith("/docs") || isUiPath(pathOf(request.url));

const restApi: FastifyPluginAsync<AppOptions> = async (
  app,
  { config, services, metrics, jobWatch },
) => {
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  useJsonBodies(app);

  app.addHook("onRequest", async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  app.addHook("onResponse", async (request, reply) => {
    request.log[isQuiet(request) ? "debug" : "info"](
      {
        method: request.method,
        url: request.url,
        route: request.routeOptions.url,
        statusCode: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      "request",
    );
  });

  app.setErrorHandler(handleError(config.limits.bodyLimitBytes));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new AppError(
        "NOT_FOUND",
        `No route matches ${request.method} ${request.url.split("?")[0]}; the API is described at /docs.`,
      ),
    ),
  );

  const schemas = createRequestSchemas(config.limits);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "nnserve",
        description:
          "Train feedforward neural networks as queued jobs and serve their predictions. Every error is application/problem+json (RFC 9457).",
        version: "0.1.0",
      },
      tags: [
        { name: "training", description: "Submit and follow training jobs" },
        { name: "prediction", description: "Run trained models" },
        { name: "models", description: "Trained models and their versions" },
        { name: "studies", description: "Hyper-parameter search: trials pruned by ASHA" },
        { name: "health", description: "Liveness and readiness probes" },
      ],
    },
    // The view schemas carry ids in zod's global registry and become components; the
    // limit-dependent request schemas are built per app and stay inline.
    transform: createJsonSchemaTransform({ skipList: [] }),
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/docs" });

  // First, so its request hook applies to every route registered after it.
  if (metrics) await app.register(metricsPlugin, { metrics });
  const routeOptions = { services, schemas };
  await app.register(trainRoutes, routeOptions);
  await app.register(jobRoutes, routeOptions);
  await app.register(jobEventRoutes, {
    jobWatch: jobWatch ?? createJobWatch({ training: services.training }),
    heartbeatMs: config.http.eventsHeartbeatMs,
  });
  await app.register(predictRoutes, routeOptions);
  await app.register(modelRoutes, routeOptions);
  await app.register(modelFileRoutes, {
    ...routeOptions,
    importBodyLimit: config.limits.importBodyLimitBytes,
  });
  await app.register(datasetRoutes, {
    datasets: services.datasets,
    limits: config.datasets,
  });
  await app.register(healthRoutes, routeOptions);
  await app.register(uiRoutes);
  if (services.aliases) await app.register(aliasRoutes, { aliases: services.aliases });
  if (services.traffic) await app.register(trafficRoutes, { traffic: services.traffic });
  if (services.batch)
    await app.register(batchPredictionRoutes, {
      batch: services.batch,
      datasets: services.datasets,
      limits: config.datasets,
    });
  if (services.studies) {
    await app.register(studyRoutes, { studies: services.studies, schemas });
    await app.register(studyEventRoutes, {
      studies: services.studies,
      heartbeatMs: config.http.eventsHeartbeatMs,
    });
  }
  await app.register(operateRoutes, {
    ...(services.drift ? { drift: services.drift } : {}),
    ...(services.feedback ? { feedback: services.feedback } : {}),
  });
  // The Open Inference Protocol answers errors in its own shape: see routes/v2.ts.
  const inference = createInferenceService({
    models: services.models,
    prediction: services.prediction,
    readiness: services.readiness,
    schemas,
    serverVersion: NNSERVE_VERSION,
    extensions: [BINARY_TENSOR_DATA],
    ...(services.aliases ? { aliases: services.aliases } : {}),
  });
  await app.register(v2Routes, {
    prefix: "/v2",
    inference,
    bodyLimit: config.limits.bodyLimitBytes,
  });
};

/** The REST API as a plugin that shares its error handling with the instance it joins. */
export const restApiPlugin = fp(restApi, { name: "nnserve-rest", fastify: "5.x" });

export function buildApp(options: AppOptions) {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.config.limits.bodyLimitBytes,
    genReqId: requestId,
    // One line per request, written by the onResponse hook above.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "reqId" }),
    requestTimeout: options.config.http.requestTimeoutMs,
    connectionTimeout: options.config.http.connectionTimeoutMs,
    keepAliveTimeout: options.config.http.keepAliveTimeoutMs,
  }).withTypeProvider<ZodTypeProvider>();
  // Before the API: shutdown and overload refuse a request before anything else reads it.
  app.register(protectionPlugin, options);
  app.register(authPlugin, options);
  app.register(restApiPlugin, options);
  // With AUTH off every route is open: an admin API there would let anyone mint keys that
  // keep working once auth is switched on.
  if (options.keys && options.config.auth) app.register(adminKeyRoutes, { keys: options.keys });
  return app;
}

export type App = ReturnType<typeof buildApp>;
