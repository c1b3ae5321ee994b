/**
 * The Open Inference Protocol (KServe V2) over HTTP/JSON, on the transport-neutral
 * services/inference.ts, which holds every protocol rule shared with gRPC. What lives here is
 * only the JSON wire: paths, the `data` of a tensor as a flat or nested JSON array (row-major),
 * and errors as `{"error": "..."}` with the status of the AppError behind them.
 *
 *   GET  /v2                                             server metadata
 *   GET  /v2/health/live, /v2/health/ready               200 when true, 400 when not (as Triton)
 *   GET  /v2/models/{name}[/versions/{version}]          model metadata
 *   GET  /v2/models/{name}[/versions/{version}]/ready    200 when ready, 400 when not
 *   POST /v2/models/{name}[/versions/{version}]/infer    inference
 *
 * Registered without fastify-plugin, under the /v2 prefix, so its error and not-found handlers
 * answer in the protocol's shape and the rest of the API keeps problem+json.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError, type FieldIssue, validationError } from "../../errors.ts";
import {
  INPUT_DATATYPES,
  type InferenceService,
  type InferInput,
  type InferResponse,
} from "../../services/inference.ts";
import { logFailure, toAppError } from "../problem.ts";

export interface V2RouteOptions {
  inference: InferenceService;
  bodyLimit: number;
}

const parameters = z.record(z.string(), z.unknown()).optional();

const inferRequestSchema = z.object({
  id: z.string().optional(),
  parameters,
  inputs: z
    .array(
      z.object({
        name: z.string(),
        shape: z.array(z.int().min(0, "must be >= 0")),
        datatype: z.string(),
        parameters,
        // Flat or nested, checked element by element in flatten() below.
        data: z.array(z.unknown()),
      }),
    )
    .min(1, "needs one input tensor"),
  outputs: z.array(z.object({ name: z.string(), parameters })).optional(),
});
type InferBody = z.output<typeof inferRequestSchema>;

const modelParams = z.object({ name: z.string() });
const versionParams = z.object({ name: z.string(), version: z.string() });

const tensorSchema = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.int()),
});
const serverMetadataSchema = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()),
});
const modelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(tensorSchema),
  outputs: z.array(tensorSchema),
});
const inferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string(),
  outputs: z.array(tensorSchema.extend({ data: z.array(z.number()) })),
});
const errorSchema = z.object({ error: z.string() });

const MAX_ISSUES_IN_MESSAGE = 10;

/** The protocol's error body: one sentence, with the field paths of a validation failure. */
export function v2Error(error: AppError, requestId: string): { error: string } {
  if (!error.exposeMessage) {
    return {
      error: `An internal error occurred; quote request id ${requestId} when reporting it.`,
    };
  }
  if (error.errors.length === 0) return { error: error.message };
  const issues = error.errors
    .slice(0, MAX_ISSUES_IN_MESSAGE)
    .map((issue) => (issue.path ? `${issue.path} ${issue.message}` : issue.message));
  const more = error.errors.length - MAX_ISSUES_IN_MESSAGE;
  return { error: `${issues.join("; ")}${more > 0 ? `; and ${more} more` : ""}` };
}

function send(reply: FastifyReply, error: AppError) {
  return reply
    .code(error.statusCode)
    .type("application/json; charset=utf-8")
    .send(JSON.stringify(v2Error(error, String(reply.request.id))));
}

/**
 * A tensor's `data` as flat row-major elements. Nested data must follow the shape: the outer
 * array has shape[0] entries, each of those shape[1], and so on; flat data is counted later.
 */
function flatten(data: unknown[], shape: number[], at: string): number[] {
  const out: number[] = [];
  const issues: FieldIssue[] = [];
  const notNumber = (path: string) => issues.push({ path, message: "must be a number" });
  if (!data.some(Array.isArray)) {
    for (let i = 0; i < data.length && issues.length < MAX_ISSUES_IN_MESSAGE; i++) {
      const value = data[i];
      if (typeof value === "number") out.push(value);
      else notNumber(`${at}[${i}]`);
    }
  } else {
    const dims = `shape [${shape.join(", ")}]`;
    const walk = (value: unknown, depth: number, path: string) => {
      if (issues.length >= MAX_ISSUES_IN_MESSAGE) return;
      if (!Array.isArray(value)) {
        if (typeof value !== "number") notNumber(path);
        else if (depth !== shape.length) {
          issues.push({ path, message: `is a number where ${dims} needs an array` });
        } else out.push(value);
        return;
      }
      if (depth >= shape.length || value.length !== shape[depth]) {
        const needs = depth < shape.length ? `${shape[depth]} entries` : "a number";
        issues.push({ path, message: `has ${value.length} entries where ${dims} needs ${needs}` });
        return;
      }
      for (let i = 0; i < value.length; i++) walk(value[i], depth + 1, `${path}[${i}]`);
    };
    walk(data, 0, at);
  }
  if (issues.length > 0) throw validationError(issues);
  return out;
}

function toInferInputs(body: InferBody): InferInput[] {
  return body.inputs.map((input, i) => {
    const dataPath = `inputs[${i}].data`;
    // An unsupported datatype is for inference.ts to name; its elements need no checking.
    const values = Object.hasOwn(INPUT_DATATYPES, input.datatype)
      ? flatten(input.data, input.shape, dataPath)
      : [];
    return {
      name: input.name,
      datatype: input.datatype,
      shape: input.shape,
      data: { kind: "values", values },
      dataPath,
    };
  });
}

function toJson(response: InferResponse) {
  return {
    model_name: response.modelName,
    model_version: response.modelVersion,
    id: response.id,
    outputs: response.outputs.map((o) => ({
      name: o.name,
      datatype: o.datatype,
      shape: o.shape,
      data: Array.from(o.data),
    })),
  };
}

const notReady = (what: string) =>
  new AppError("MALFORMED_REQUEST", `${what} is not ready.`, { title: "Not ready" });

export const v2Routes: FastifyPluginAsyncZod<V2RouteOptions> = async (
  app,
  { inference, bodyLimit },
) => {
  app.setErrorHandler((error, request: FastifyRequest, reply) => {
    const appError = toAppError(error, request, bodyLimit);
    logFailure(request, error, appError);
    return send(reply, appError);
  });
  app.setNotFoundHandler((request, reply) =>
    send(
      reply,
      new AppError(
        "NOT_FOUND",
        `No Open Inference Protocol route matches ${request.method} ${request.url.split("?")[0]}.`,
      ),
    ),
  );

  const tags = ["inference (v2)"];
  const errors = { 400: errorSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema };

  app.get(
    "",
    {
      schema: {
        operationId: "v2ServerMetadata",
        tags,
        summary: "Server metadata",
        response: { 200: serverMetadataSchema },
      },
    },
    async () => inference.serverMetadata(),
  );

  app.get(
    "/health/live",
    { schema: { operationId: "v2ServerLive", tags, summary: "200 while the server is live" } },
    async (_request, reply) => {
      if (!inference.serverLive()) return send(reply, notReady("The server"));
      return reply.code(200).send();
    },
  );

  app.get(
    "/health/ready",
    {
      schema: {
        operationId: "v2ServerReady",
        tags,
        summary: "200 when the server is ready (database, migrations, pool), 400 when not",
      },
    },
    async (_request, reply) => {
      if (!(await inference.serverReady())) return send(reply, notReady("The server"));
      return reply.code(200).send();
    },
  );

  const modelReady = async (name: string, version: string, reply: FastifyReply) => {
    if (!(await inference.modelReady(name, version))) {
      const what = version === "" ? `Model "${name}"` : `Version ${version} of model "${name}"`;
      return send(reply, notReady(what));
    }
    return reply.code(200).send();
  };

  app.get(
    "/models/:name",
    {
      schema: {
        operationId: "v2ModelMetadata",
        tags,
        summary: "Metadata of the newest ready version of a model",
        params: modelParams,
        response: { 200: modelMetadataSchema, ...errors },
      },
    },
    async (request) => inference.modelMetadata(request.params.name, ""),
  );
  app.get(
    "/models/:name/versions/:version",
    {
      schema: {
        operationId: "v2ModelVersionMetadata",
        tags,
        summary: "Metadata of one version of a model",
        params: versionParams,
        response: { 200: modelMetadataSchema, ...errors },
      },
    },
    async (request) => inference.modelMetadata(request.params.name, request.params.version),
  );

  app.get(
    "/models/:name/ready",
    {
      schema: {
        operationId: "v2ModelReady",
        tags,
        summary: "200 when the model has a ready version, 400 when not",
        params: modelParams,
      },
    },
    async (request, reply) => modelReady(request.params.name, "", reply),
  );
  app.get(
    "/models/:name/versions/:version/ready",
    {
      schema: {
        operationId: "v2ModelVersionReady",
        tags,
        summary: "200 when the version is trained and ready, 400 when not",
        params: versionParams,
      },
    },
    async (request, reply) => modelReady(request.params.name, request.params.version, reply),
  );

  const infer = async (name: string, version: string, body: InferBody) =>
    toJson(
      await inference.infer({
        modelName: name,
        modelVersion: version,
        id: body.id ?? "",
        inputs: toInferInputs(body),
        outputs: (body.outputs ?? []).map((o) => o.name),
      }),
    );

  app.post(
    "/models/:name/infer",
    {
      schema: {
        operationId: "v2Infer",
        tags,
        summary: "Run the newest ready version of a model on an input tensor",
        params: modelParams,
        body: inferRequestSchema,
        response: { 200: inferResponseSchema, ...errors },
      },
    },
    async (request) => infer(request.params.name, "", request.body),
  );
  app.post(
    "/models/:name/versions/:version/infer",
    {
      schema: {
        operationId: "v2InferVersion",
        tags,
        summary: "Run one version of a model on an input tensor",
        params: versionParams,
        body: inferRequestSchema,
        response: { 200: inferResponseSchema, ...errors },
      },
    },
    async (request) => infer(request.params.name, request.params.version, request.body),
  );
};
