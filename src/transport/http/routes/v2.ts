/**
 * The Open Inference Protocol (KServe V2) over HTTP/JSON, on the transport-neutral
 * services/inference.ts, which holds every protocol rule shared with gRPC. What lives here is
 * only the HTTP wire: paths, the `data` of a tensor as a flat or nested JSON array (row-major),
 * the binary tensor data extension (below), and errors as `{"error": "..."}` with the status of
 * the AppError behind them.
 *
 *   GET  /v2                                             server metadata
 *   GET  /v2/health/live, /v2/health/ready               200 when true, 400 when not (as Triton)
 *   GET  /v2/models/{name}[/versions/{version}]          model metadata
 *   GET  /v2/models/{name}[/versions/{version}]/ready    200 when ready, 400 when not
 *   POST /v2/models/{name}[/versions/{version}]/infer    inference
 *
 * {version} is a version number or an alias (production, staging): alias names are never all
 * digits. A reply says the version that answered in model_version, and the alias it came through
 * (named, or production by default) in `parameters.alias`.
 *
 * The binary tensor data extension (as Triton and KServe serve it): with the header
 * `Inference-Header-Content-Length: N`, the body is N bytes of JSON followed by the little-endian
 * bytes of each input whose `parameters.binary_data_size` is set, in the order of the inputs; the
 * Content-Type is application/octet-stream (or application/json). Outputs asked for with
 * `parameters.binary_data` (or all, with the request's `parameters.binary_data_output`) come back
 * the same way: `parameters.binary_data_size` instead of `data`, their bytes after the JSON, and
 * the header giving the JSON's length.
 *
 * Registered without fastify-plugin, under the /v2 prefix, so its error and not-found handlers,
 * and its body parsers, apply here only and the rest of the API keeps problem+json and JSON.
 */

import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { DATABASE_RETRY_AFTER_SECONDS } from "../../../platform/db/unavailable.ts";
import {
  AppError,
  type FieldIssue,
  malformedRequest,
  unsupportedMediaType,
  validationError,
} from "../../../platform/errors.ts";
import { looseArray } from "../../../platform/validation/common.ts";
import {
  encodeRaw,
  INPUT_DATATYPES,
  type InferenceService,
  type InferInput,
  type InferResponse,
} from "../../../prediction/inference.ts";
import { routingKey } from "../../../prediction/request.ts";
import { jsonTextParser } from "../json-parser.ts";
import { logFailure, toAppError } from "../problem.ts";

export interface V2RouteOptions {
  inference: InferenceService;
  bodyLimit: number;
}

/** The extension GET /v2 advertises for what this file serves beyond plain JSON. */
export const BINARY_TENSOR_DATA = "binary_tensor_data";
/** Byte length of the JSON at the start of a body (request or reply) with binary tensor data. */
export const BINARY_HEADER = "inference-header-content-length";
const BINARY_HEADER_NAME = "Inference-Header-Content-Length";
const JSON_TYPE = "application/json; charset=utf-8";
const BINARY_TYPE = "application/octet-stream";

const byteCount = "must be a whole number of bytes >= 0";
const trueOrFalse = "must be true or false";

const inferRequestSchema = z.object({
  id: z.string().optional(),
  parameters: z
    .looseObject({
      binary_data_output: z
        .boolean(trueOrFalse)
        .optional()
        .describe("true: every output comes back as binary data unless it says otherwise"),
      routing_key: routingKey
        .optional()
        .describe("A sticky traffic split's routing key (or the X-Routing-Key header)"),
    })
    .optional(),
  inputs: z
    .array(
      z.object({
        name: z.string(),
        shape: z.array(z.int().min(0, "must be >= 0")),
        datatype: z.string(),
        parameters: z
          .looseObject({
            binary_data_size: z
              .int(byteCount)
              .min(0, byteCount)
              .optional()
              .describe("Bytes of this tensor after the JSON (binary tensor data extension)"),
          })
          .optional(),
        // Flat or nested, checked element by element in flatten() below.
        data: looseArray()
          .optional()
          .describe("Row-major elements, flat or nested; absent when binary_data_size is set"),
      }),
    )
    .min(1, "needs one input tensor"),
  outputs: z
    .array(
      z.object({
        name: z.string(),
        parameters: z
          .looseObject({
            binary_data: z
              .boolean(trueOrFalse)
              .optional()
              .describe("true: this output comes back as binary data; false: as JSON data"),
          })
          .optional(),
      }),
    )
    .optional(),
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
  /** The version that answered, as a number. */
  model_version: z.string(),
  id: z.string(),
  parameters: z
    .object({ alias: z.string() })
    .optional()
    .describe("The alias the request came through (named as its version, or production)"),
  outputs: z.array(
    tensorSchema.extend({
      parameters: z
        .object({ binary_data_size: z.int() })
        .optional()
        .describe("A binary output: its bytes follow the JSON, in the order of the outputs"),
      data: z.array(z.number()).optional().describe("Row-major elements; absent when binary"),
    }),
  ),
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
    .type(JSON_TYPE)
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

/**
 * The request's input tensors: JSON `data` flattened, or the tensor's slice of the binary data
 * after the JSON (`binary`, undefined without the Inference-Header-Content-Length header), taken
 * in the order of the inputs. Each input has one or the other, and the slices use every byte.
 */
function toInferInputs(body: InferBody, binary: Buffer | undefined): InferInput[] {
  const issues: FieldIssue[] = [];
  const available = binary?.byteLength ?? 0;
  let offset = 0;
  const slices = body.inputs.map((input, i) => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) {
      if (input.data === undefined) {
        issues.push({
          path: `inputs[${i}].data`,
          message:
            "is required, or parameters.binary_data_size with the tensor's bytes after the JSON",
        });
      }
      return undefined;
    }
    const path = `inputs[${i}].parameters.binary_data_size`;
    if (input.data !== undefined) {
      issues.push({
        path: `inputs[${i}]`,
        message: "has both data and parameters.binary_data_size; send the tensor one way",
      });
    }
    const start = offset;
    offset += size;
    if (binary === undefined) {
      issues.push({
        path,
        message: `needs the tensor's bytes after the JSON, and the ${BINARY_HEADER_NAME} header giving the JSON's byte length`,
      });
    } else if (offset > available && start <= available) {
      issues.push({
        path,
        message: `is ${size} bytes from byte ${start} of the binary data, but only ${available} bytes follow the JSON`,
      });
    }
    return binary?.subarray(start, offset);
  });
  if (binary !== undefined && offset < available) {
    issues.push({
      path: "inputs[*].parameters.binary_data_size",
      message: `add up to ${offset} bytes, but ${available} bytes follow the JSON (${BINARY_HEADER_NAME}); ${available - offset} belong to no input`,
    });
  }
  if (issues.length > 0) throw validationError(issues);

  return body.inputs.map((input, i) => {
    const base = { name: input.name, datatype: input.datatype, shape: input.shape };
    const bytes = slices[i];
    if (bytes !== undefined) {
      const dataPath = `inputs[${i}].parameters.binary_data_size`;
      return { ...base, data: { kind: "raw", bytes }, dataPath };
    }
    const dataPath = `inputs[${i}].data`;
    // An unsupported datatype is for inference.ts to name; its elements need no checking.
    const values = Object.hasOwn(INPUT_DATATYPES, input.datatype)
      ? flatten(input.data ?? [], input.shape, dataPath)
      : [];
    return { ...base, data: { kind: "values", values }, dataPath };
  });
}

/**
 * inference.ts names an element of raw data by its index after the data path; for a binary input
 * that reads `inputs[0].binary_data[7]`, and the path alone (a byte count that does not fit the
 * shape) stays `inputs[0].parameters.binary_data_size`.
 */
function binaryElementPaths(error: unknown, inputs: InferInput[]): unknown {
  if (!(error instanceof AppError) || error.code !== "VALIDATION_FAILED") return error;
  const renames = inputs.flatMap((input, i): [string, string][] =>
    input.data.kind === "raw" ? [[`${input.dataPath}[`, `inputs[${i}].binary_data[`]] : [],
  );
  if (renames.length === 0) return error;
  return validationError(
    error.errors.map((issue) => {
      const rename = renames.find(([from]) => issue.path.startsWith(from));
      return rename ? { ...issue, path: rename[1] + issue.path.slice(rename[0].length) } : issue;
    }),
    error.message,
  );
}

/**
 * The reply: plain JSON, or, when an output is asked for as binary (its own
 * `parameters.binary_data`, else the request's `parameters.binary_data_output`), the JSON with
 * `parameters.binary_data_size` in place of that output's `data`, followed by the outputs' bytes
 * in order. The JSON is built here with JSON.stringify rather than by the route's response
 * schema, which only documents it: fastify-type-provider-zod's serializer would first check every
 * element of every output, on every reply.
 */
function sendInferResponse(reply: FastifyReply, response: InferResponse, body: InferBody) {
  const allBinary = body.parameters?.binary_data_output === true;
  const binary: Uint8Array[] = [];
  const outputs = response.outputs.map((output, i) => {
    const tensor = { name: output.name, datatype: output.datatype, shape: output.shape };
    // Outputs come back in the order asked, so the i-th is the i-th of body.outputs.
    if (!(body.outputs?.[i]?.parameters?.binary_data ?? allBinary)) {
      return { ...tensor, data: Array.from(output.data) };
    }
    const bytes = encodeRaw(output);
    binary.push(bytes);
    return { ...tensor, parameters: { binary_data_size: bytes.byteLength } };
  });
  const json = JSON.stringify({
    model_name: response.modelName,
    model_version: response.modelVersion,
    id: response.id,
    ...(response.alias === undefined ? {} : { parameters: { alias: response.alias } }),
    outputs,
  });
  if (binary.length === 0) return reply.type(JSON_TYPE).send(json);
  const head = Buffer.from(json);
  return reply
    .header(BINARY_HEADER, head.byteLength)
    .type(BINARY_TYPE)
    .send(Buffer.concat([head, ...binary]));
}

/** What is wrong with JSON that the secure parser refused. */
/**
 * A body as its JSON text and the binary data after it: with the header, its first N bytes are
 * the JSON; without, all of it is.
 */
function splitBody(body: Buffer, header: string | string[] | undefined) {
  if (header === undefined) return { json: body.toString("utf8"), binary: undefined };
  const length = typeof header === "string" && /^\d{1,15}$/.test(header) ? Number(header) : NaN;
  if (!(length <= body.byteLength)) {
    throw malformedRequest(
      `${BINARY_HEADER_NAME} must be a whole number of bytes, at most the body's ${body.byteLength}; got "${String(header)}".`,
    );
  }
  return {
    json: body.toString("utf8", 0, length),
    binary: body.subarray(length),
  };
}

const routingKeyHeader = (request: FastifyRequest) => {
  const header = request.headers["x-routing-key"];
  return typeof header === "string" && header !== "" ? header : undefined;
};

const notReady = (what: string) =>
  new AppError("MALFORMED_REQUEST", `${what} is not ready.`, { title: "Not ready" });

type V2App = Parameters<FastifyPluginAsyncZod<V2RouteOptions>>[0];

export const v2Routes: FastifyPluginAsyncZod<V2RouteOptions> = async (
  app,
  { inference, bodyLimit },
) => {
  useV2Errors(app, bodyLimit);
  const binaryData = useV2Bodies(app, bodyLimit);
  metadataRoutes(app, inference);
  inferRoutes(app, inference, binaryData);
};

/** Errors of this scope in the protocol's shape, `{"error": "..."}`. */
function useV2Errors(app: V2App, bodyLimit: number) {
  app.setErrorHandler((error, request: FastifyRequest, reply) => {
    const appError = toAppError(error, request, bodyLimit);
    logFailure(request, error, appError);
    if (appError.code === "UNAVAILABLE" && !reply.hasHeader("retry-after"))
      reply.header("retry-after", String(DATABASE_RETRY_AFTER_SECONDS));
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
}

/** The body parsers of this scope; returns the binary data kept per request. */
function useV2Bodies(app: V2App, bodyLimit: number): WeakMap<FastifyRequest, Buffer> {
  // Bodies of this scope. The binary data after the JSON part is kept per request for the infer
  // handler; the body itself is the JSON, which the route's schema validates as usual. JSON
  // bodies are read here too, as with the header they hold bytes; their JSON is parsed as every
  // route's is (json-parser.ts).
  const binaryData = new WeakMap<FastifyRequest, Buffer>();
  const parseJson = jsonTextParser(app);
  const readBody = (request: FastifyRequest, raw: Buffer | string, binaryOnly: boolean) => {
    // parseAs "buffer" gives a Buffer; fastify's types allow a string too.
    const body = typeof raw === "string" ? Buffer.from(raw) : raw;
    const header = request.headers[BINARY_HEADER];
    if (header === undefined && binaryOnly) {
      throw malformedRequest(
        `An ${BINARY_TYPE} body needs the ${BINARY_HEADER_NAME} header: the byte length of the JSON inference request at its start (the binary tensor data extension).`,
      );
    }
    const { json, binary } = splitBody(body, header);
    if (binary === undefined && json.length === 0) return undefined;
    const what =
      binary === undefined
        ? "The body"
        : `The JSON part of the body (its first ${String(header)} bytes, ${BINARY_HEADER_NAME})`;
    const parsed = parseJson(request, json, what);
    if (binary !== undefined) binaryData.set(request, binary);
    return parsed;
  };
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser(
    "application/json",
    { parseAs: "buffer", bodyLimit },
    (request, body, done) => done(null, readBody(request, body, false)),
  );
  app.addContentTypeParser(BINARY_TYPE, { parseAs: "buffer", bodyLimit }, (request, body, done) =>
    done(null, readBody(request, body, true)),
  );
  // Not every client of the extension sends a Content-Type (Triton's own tests send none, and
  // Python's urllib sends a form type): with the header, any body is binary; without it, any type
  // but the two above stays a 415.
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit }, (request, body, done) => {
    if (request.headers[BINARY_HEADER] === undefined) {
      throw unsupportedMediaType(request.headers["content-type"]);
    }
    done(null, readBody(request, body, true));
  });

  return binaryData;
}

const tags = ["inference (v2)"];
const errors = { 400: errorSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema };

/** Server and model metadata, liveness and readiness. */
function metadataRoutes(app: V2App, inference: InferenceService) {
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
}

/** Inference on the routed version, or on a version or alias named in the path. */
function inferRoutes(
  app: V2App,
  inference: InferenceService,
  binaryData: WeakMap<FastifyRequest, Buffer>,
) {
  const infer = async (
    request: FastifyRequest,
    reply: FastifyReply,
    name: string,
    version: string,
    body: InferBody,
  ) => {
    const inputs = toInferInputs(body, binaryData.get(request));
    let response: InferResponse;
    try {
      response = await inference.infer({
        modelName: name,
        modelVersion: version,
        id: body.id ?? "",
        inputs,
        outputs: (body.outputs ?? []).map((o) => o.name),
        routingKey: body.parameters?.routing_key ?? routingKeyHeader(request),
      });
    } catch (error) {
      throw binaryElementPaths(error, inputs);
    }
    return sendInferResponse(reply, response, body);
  };
  const inferDescription =
    "The binary tensor data extension: with the header `Inference-Header-Content-Length: N` " +
    "(Content-Type application/octet-stream or application/json), the body is N bytes of this " +
    "JSON followed by the little-endian, row-major bytes of each input that has " +
    "`parameters.binary_data_size` instead of `data`, in the order of the inputs. Outputs with " +
    "`parameters.binary_data: true` (or all, with the request's " +
    "`parameters.binary_data_output: true`, unless an output says false) come back as " +
    "`parameters.binary_data_size` instead of `data`: the reply is then " +
    "application/octet-stream, the JSON followed by those outputs' bytes (FP32 4 bytes, INT64 8), " +
    "with `Inference-Header-Content-Length` giving the JSON's byte length.";

  app.post(
    "/models/:name/infer",
    {
      schema: {
        operationId: "v2Infer",
        tags,
        summary:
          "Run the version that serves (traffic split, else alias production, else newest ready) on an input tensor",
        description: inferDescription,
        params: modelParams,
        body: inferRequestSchema,
        response: { 200: inferResponseSchema, ...errors },
      },
    },
    async (request, reply) => infer(request, reply, request.params.name, "", request.body),
  );
  app.post(
    "/models/:name/versions/:version/infer",
    {
      schema: {
        operationId: "v2InferVersion",
        tags,
        summary: "Run one version of a model, or the version an alias names, on an input tensor",
        description: inferDescription,
        params: versionParams,
        body: inferRequestSchema,
        response: { 200: inferResponseSchema, ...errors },
      },
    },
    async (request, reply) =>
      infer(request, reply, request.params.name, request.params.version, request.body),
  );
}
