/**
 * The Open Inference Protocol (KServe V2) without its wire: what a model looks like to the
 * protocol, when a model or version is ready, how a tensor becomes rows, and what comes back.
 * The gRPC transport (src/transport/grpc/inference.ts) and the REST one (/v2/...) map their messages to
 * these plain shapes and back; every rule lives here, or in the shared schemas and services this
 * calls, once.
 *
 * nnserve's side of the protocol:
 *   - a model is a model name; its versions are version numbers as decimal strings, and "" means
 *     the newest ready version (what Predict uses by default);
 *   - each model has one input, "input", FP32 [-1, width], and one output, "output", FP32
 *     [-1, units]; a classifier also has "classes", INT64 [-1], the class of each row;
 *   - infer takes a tensor of FP32, FP64, INT32 or INT64 of shape [rows, width], as numbers or
 *     as little-endian bytes, and runs it through PredictionService.predict after the shared
 *     predict schema has checked it (finite values, the row limit).
 *
 * Field paths in errors use the protocol's names (`model_name`, `inputs[0].shape`); the data of
 * a tensor is named by the transport (`inputs[0].contents`, `raw_input_contents[0]`,
 * `inputs[0].data`), with the element index: `inputs[0].contents[7]`.
 */

import { classifierKind } from "../engine/index.ts";
import { bytesToFloat32, float32ToBytes } from "../platform/db/binary.ts";
import {
  AppError,
  conflict,
  type FieldIssue,
  notFound,
  validationError,
} from "../platform/errors.ts";
import { NNSERVE_VERSION } from "../platform/package-version.ts";
import type { Readiness } from "../platform/readiness.ts";
import { modelName } from "../platform/validation/common.ts";
import { parseRequest } from "../platform/validation/parse.ts";
import type { RequestSchemas } from "../transport/request-schemas.ts";
import { aliasName } from "../versions/aliases/schemas.ts";
import type { AliasService } from "../versions/aliases/service.ts";
import type { ModelRegistry } from "../versions/registry.ts";
import type { Model, ModelVersion } from "../versions/schemas.ts";
import type { PredictionService, TensorPrediction } from "./contract.ts";
import { packRows } from "./packed-rows.ts";
import { packedRowsPass } from "./request.ts";

/** nnserve's version, as ServerMetadata reports it. */
export { NNSERVE_VERSION };

export const INPUT_NAME = "input";
export const OUTPUT_NAME = "output";
export const CLASSES_NAME = "classes";
export const PLATFORM = "nnserve_dense";

/** Input datatypes infer converts, and the bytes one element takes in raw form. */
export const INPUT_DATATYPES = { FP32: 4, FP64: 8, INT32: 4, INT64: 8 } as const;
export type InputDatatype = keyof typeof INPUT_DATATYPES;

export interface TensorMetadata {
  name: string;
  datatype: string;
  /** -1 is the batch (rows) dimension. */
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  /** Ready versions, newest first. */
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

/** A tensor's elements: numbers as decoded by the transport, or raw little-endian bytes. */
export type TensorData =
  | { kind: "values"; values: ArrayLike<number | string | bigint> }
  | { kind: "raw"; bytes: Uint8Array };

export interface InferInput {
  name: string;
  datatype: string;
  /** int64 dimensions, as numbers or decimal strings (how 64-bit integers arrive). */
  shape: readonly (number | string | bigint)[];
  data: TensorData;
  /** How the transport names the data, for errors: "inputs[0].contents", "raw_input_contents[0]". */
  dataPath: string;
}

export interface InferRequest {
  modelName: string;
  /** "" for the newest ready version. */
  modelVersion: string;
  id: string;
  inputs: InferInput[];
  /** Names of the outputs wanted; empty for all of them. */
  outputs: string[];
  /** A sticky split's routing key (the request's `routing_key` parameter). */
  routingKey?: string | undefined;
}

export interface InferOutput {
  name: string;
  datatype: "FP32" | "INT64";
  shape: number[];
  /** Row-major elements: Float32Array for FP32, whole numbers for INT64. */
  data: Float32Array | number[];
}

export interface InferResponse {
  modelName: string;
  modelVersion: string;
  /** The alias the request came through (named, or production by default). */
  alias?: string;
  id: string;
  outputs: InferOutput[];
}

export interface InferenceService {
  serverLive(): boolean;
  serverReady(): Promise<boolean>;
  serverMetadata(): ServerMetadata;
  /** False for an unknown model or version, or one not trained (yet). */
  modelReady(name: string, version: string): Promise<boolean>;
  modelMetadata(name: string, version: string): Promise<ModelMetadata>;
  infer(request: InferRequest): Promise<InferResponse>;
}

export interface InferenceServiceDeps {
  models: ModelRegistry;
  prediction: PredictionService;
  readiness: Readiness;
  schemas: RequestSchemas;
  /** ServerMetadata's version; default nnserve's (package.json). */
  serverVersion?: string;
  /** Protocol extensions the transport serves; none by default. */
  extensions?: string[];
  /** Reads an alias named as a version string (metadata, readiness); absent, aliases are unknown. */
  aliases?: Pick<AliasService, "list">;
}

/** What an OIP version string names: nothing ("", routed as usual), a number, or an alias. */
export type VersionRef = { version?: number; alias?: string };

/**
 * "" -> {} (routed: split, alias production, newest ready); "3" -> version 3; "staging" -> the
 * alias (alias names are never all digits); anything else is a validation error at `path`.
 */
export function parseVersion(version: string, path = "model_version"): VersionRef {
  if (version === "") return {};
  if (/^[1-9]\d{0,8}$/.test(version)) return { version: Number(version) };
  if (aliasName.safeParse(version).success) return { alias: version };
  throw validationError([
    {
      path,
      message: `must be a version number (1, 2, ...), an alias (production, staging, ...) or "" for the version that serves by default; got "${version}"`,
    },
  ]);
}

/** The version a metadata or readiness question is about: the named one, or the newest ready. */
function pickVersion(model: Model, version: number | undefined): ModelVersion {
  const wanted = version ?? model.latestVersion;
  if (wanted === null) {
    throw conflict(`Model "${model.name}" has no trained version yet; wait for its training job.`);
  }
  const found = model.versions.find((v) => v.version === wanted);
  if (!found) throw notFound("model version", `${model.name}@${wanted}`);
  return found;
}

/** Inputs and outputs of a stored version, as the protocol describes them. */
export function versionTensors(version: Pick<ModelVersion, "network" | "loss">): {
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
} {
  const units = version.network.layers.at(-1)?.units ?? 0;
  const outputs: TensorMetadata[] = [{ name: OUTPUT_NAME, datatype: "FP32", shape: [-1, units] }];
  if (classifierKind(version.network, version.loss)) {
    outputs.push({ name: CLASSES_NAME, datatype: "INT64", shape: [-1] });
  }
  return {
    inputs: [{ name: INPUT_NAME, datatype: "FP32", shape: [-1, version.network.inputs] }],
    outputs,
  };
}

/** Reads a model's metadata for one version (or the newest ready one). */
export function modelMetadataOf(model: Model, version: number | undefined): ModelMetadata {
  const picked = pickVersion(model, version);
  return {
    name: model.name,
    versions: model.versions
      .filter((v) => v.status === "ready")
      .map((v) => String(v.version))
      .reverse(),
    platform: PLATFORM,
    ...versionTensors(picked),
  };
}

const MAX_DIMENSION = 2 ** 31 - 1;

/**
 * The [rows, width] of an input tensor, checked: rank 2, whole non-negative dimensions, and as
 * many elements as the shape says.
 */
function tensorShape(input: InferInput, at: string): { rows: number; width: number } {
  const issues: FieldIssue[] = [];
  const datatype = input.datatype;
  if (!Object.hasOwn(INPUT_DATATYPES, datatype)) {
    issues.push({
      path: `${at}.datatype`,
      message: `must be one of ${Object.keys(INPUT_DATATYPES).join(", ")}; got "${datatype}"`,
    });
  }
  const dims = input.shape.map((d) => Number(d));
  const shown = `[${dims.join(", ")}]`;
  if (
    dims.length !== 2 ||
    !dims.every((d) => Number.isInteger(d) && d >= 0 && d <= MAX_DIMENSION)
  ) {
    issues.push({
      path: `${at}.shape`,
      message: `must be [rows, width] with whole numbers >= 0 (a batch of rows); got ${shown}`,
    });
  }
  if (issues.length > 0) throw validationError(issues);
  const [rows, width] = dims as [number, number];
  if (width === 0 && rows > 0) {
    throw validationError([{ path: `${at}.shape`, message: `has width 0; got ${shown}` }]);
  }
  const elements = rows * width;
  const size = INPUT_DATATYPES[datatype as InputDatatype];
  const got =
    input.data.kind === "values" ? input.data.values.length : input.data.bytes.byteLength / size;
  if (got !== elements) {
    const what =
      input.data.kind === "values"
        ? `has ${got} elements`
        : `has ${input.data.bytes.byteLength} bytes (${size} per ${datatype} element)`;
    throw validationError([
      {
        path: input.dataPath,
        message: `${what}; shape ${shown} needs ${elements} elements`,
      },
    ]);
  }
  return { rows, width };
}

/** The elements of a checked tensor as numbers (INT64 beyond 2^53 loses precision). */
function tensorElements(input: InferInput): ArrayLike<number> {
  const data = input.data;
  if (data.kind === "values") {
    const values = data.values;
    if (values.length === 0 || typeof values[0] === "number") return values as ArrayLike<number>;
    return Array.from(values, (v) => Number(v));
  }
  const view = new DataView(data.bytes.buffer, data.bytes.byteOffset, data.bytes.byteLength);
  const datatype = input.datatype as InputDatatype;
  const count = data.bytes.byteLength / INPUT_DATATYPES[datatype];
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    if (datatype === "FP32") out[i] = view.getFloat32(i * 4, true);
    else if (datatype === "FP64") out[i] = view.getFloat64(i * 8, true);
    else if (datatype === "INT32") out[i] = view.getInt32(i * 4, true);
    else out[i] = Number(view.getBigInt64(i * 8, true));
  }
  return out;
}

/**
 * An input tensor as the rows of a predict request. Checks the datatype, the shape and the
 * element count; the values themselves are checked by the predict schema afterwards.
 */
export function tensorToRows(input: InferInput, at = "inputs[0]"): number[][] {
  const { rows, width } = tensorShape(input, at);
  const elements = tensorElements(input);
  const out: number[][] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const row: number[] = new Array(width);
    for (let c = 0; c < width; c++) row[c] = elements[r * width + c]!;
    out[r] = row;
  }
  return out;
}

/**
 * A checked tensor's elements packed as FP32 rows when every one is a finite number; undefined
 * otherwise, and the predict schema then names what is wrong. The common case skips the
 * number[][] the schema works on: for a 784-wide row that is most of the conversion work.
 */
function packedRows(input: InferInput, elements: number): Float32Array | undefined {
  const data = input.data;
  let out: Float32Array;
  if (data.kind === "values") {
    out = new Float32Array(elements);
    const values = data.values;
    for (let i = 0; i < elements; i++) {
      const v = values[i];
      if (typeof v !== "number") return undefined;
      out[i] = v;
    }
  } else if (input.datatype === "FP32") {
    out = bytesToFloat32(data.bytes);
  } else {
    out = Float32Array.from(tensorElements(input));
  }
  // v - v is 0 for every finite number and NaN for ±Infinity and NaN.
  for (let i = 0; i < elements; i++) if (out[i]! - out[i]! !== 0) return undefined;
  return out;
}

/**
 * Field issues of the predict schema (`model`, `version`, `inputs[r][c]`, `inputs`) in the
 * protocol's terms: `model_name`, `model_version`, the element's index in the tensor's data.
 */
function toTensorIssues(issues: FieldIssue[], at: string, dataPath: string, width: number) {
  return issues.map((issue) => {
    const path = issue.path;
    if (path === "model" || path.startsWith("model.")) return { ...issue, path: "model_name" };
    if (path === "version") return { ...issue, path: "model_version" };
    const element = /^inputs\[(\d+)\]\[(\d+)\]$/.exec(path);
    if (element) {
      const index = Number(element[1]) * width + Number(element[2]);
      return { ...issue, path: `${dataPath}[${index}]` };
    }
    if (path.startsWith("inputs")) return { ...issue, path: `${at}.shape` };
    return issue;
  });
}

/** The output tensors of a prediction, in the order the client asked for. */
export function outputTensors(
  prediction: Pick<TensorPrediction, "rows" | "units" | "outputs" | "classes">,
  wanted: readonly string[],
): InferOutput[] {
  const { rows, units, outputs, classes } = prediction;
  const available: Record<string, InferOutput> = {
    [OUTPUT_NAME]: { name: OUTPUT_NAME, datatype: "FP32", shape: [rows, units], data: outputs },
  };
  if (classes) {
    available[CLASSES_NAME] = {
      name: CLASSES_NAME,
      datatype: "INT64",
      shape: [rows],
      data: classes,
    };
  }
  const names = wanted.length > 0 ? wanted : Object.keys(available);
  const issues: FieldIssue[] = [];
  names.forEach((name, i) => {
    if (!Object.hasOwn(available, name)) {
      issues.push({
        path: `outputs[${i}].name`,
        message: `the model has no output "${name}"; it has ${Object.keys(available)
          .map((n) => `"${n}"`)
          .join(", ")}`,
      });
    }
  });
  if (issues.length > 0) throw validationError(issues);
  return names.map((name) => available[name]!);
}

/** An output tensor's elements as little-endian bytes (FP32: 4 bytes each, INT64: 8). */
export function encodeRaw(output: InferOutput): Uint8Array {
  if (output.datatype === "FP32") {
    const data = output.data;
    return float32ToBytes(data instanceof Float32Array ? data : Float32Array.from(data));
  }
  const bytes = new Uint8Array(output.data.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < output.data.length; i++) {
    view.setBigInt64(i * 8, BigInt(output.data[i]!), true);
  }
  return bytes;
}

/** The version number a metadata or readiness question names; undefined: the newest ready. */
async function versionNumber(
  aliases: Pick<AliasService, "list"> | undefined,
  name: string,
  ref: VersionRef,
): Promise<number | undefined> {
  if (ref.alias === undefined) return ref.version;
  const found = (await aliases?.list(name))?.find((a) => a.alias === ref.alias);
  if (!found) throw notFound("alias", `${name}:${ref.alias}`);
  return found.version;
}

export function createInferenceService({
  models,
  prediction: predictionService,
  readiness,
  schemas,
  serverVersion = NNSERVE_VERSION,
  extensions = [],
  aliases,
}: InferenceServiceDeps): InferenceService {
  const numbered = (name: string, ref: VersionRef) => versionNumber(aliases, name, ref);

  async function lookup(name: string): Promise<Model> {
    // An invalid name can name no model; say so the way an unknown one is said.
    if (!modelName.safeParse(name).success) throw notFound("model", name);
    return models.get(name);
  }

  return {
    serverLive: () => true,

    async serverReady() {
      return (await readiness.check()).ready;
    },

    serverMetadata: () => ({ name: "nnserve", version: serverVersion, extensions }),

    async modelReady(name, version) {
      const ref = parseVersion(version);
      try {
        const model = await lookup(name);
        const wanted = await numbered(name, ref);
        return pickVersion(model, wanted).status === "ready";
      } catch (error) {
        if (error instanceof AppError && (error.code === "NOT_FOUND" || error.code === "CONFLICT"))
          return false;
        throw error;
      }
    },

    async modelMetadata(name, version) {
      const ref = parseVersion(version);
      const model = await lookup(name);
      return modelMetadataOf(model, await numbered(name, ref));
    },

    async infer(request) {
      const ref = parseVersion(request.modelVersion);
      const { version } = ref;
      if (request.inputs.length !== 1) {
        throw validationError([
          {
            path: "inputs",
            message: `needs exactly one tensor ("${INPUT_NAME}", [rows, width]); got ${request.inputs.length}`,
          },
        ]);
      }
      const input = request.inputs[0]!;
      const at = "inputs[0]";
      const { rows, width } = tensorShape(input, at);
      // What the predict schema would accept goes straight to the prediction as packed rows;
      // anything else takes the schema's path, which names each problem.
      let packed = packedRowsPass(request.modelName, rows, width, schemas.limits.maxPredictRows)
        ? packedRows(input, rows * width)
        : undefined;
      if (!packed) {
        const inputs = tensorToRows(input, at);
        try {
          parseRequest(schemas.predictRequest, {
            model: request.modelName,
            ...(version === undefined ? {} : { version }),
            inputs,
          });
        } catch (error) {
          if (!(error instanceof AppError) || error.code !== "VALIDATION_FAILED") throw error;
          throw validationError(toTensorIssues(error.errors, at, input.dataPath, width));
        }
        packed = packRows(inputs as number[][], width);
      }

      let prediction: TensorPrediction;
      try {
        // The protocol's tensor is the network's input, as the metadata describes it, also for
        // a version with preprocessing (whose raw rows go to /predict).
        prediction = await predictionService.predictRows(
          { model: request.modelName, ...ref, routingKey: request.routingKey },
          { kind: "network", values: packed, rows, width },
        );
      } catch (error) {
        // Rows of the wrong width: say it about the shape, against the model's own metadata.
        if (!(error instanceof AppError) || error.code !== "VALIDATION_FAILED") throw error;
        const metadata = modelMetadataOf(
          await lookup(request.modelName),
          await numbered(request.modelName, ref),
        );
        const expected = metadata.inputs[0]!.shape;
        throw validationError([
          {
            path: `${at}.shape`,
            message: `is [${rows}, ${width}]; model "${metadata.name}" takes [${expected.join(", ")}]`,
          },
        ]);
      }
      return {
        modelName: prediction.model,
        modelVersion: String(prediction.version),
        ...(prediction.alias === undefined ? {} : { alias: prediction.alias }),
        id: request.id,
        outputs: outputTensors(prediction, request.outputs),
      };
    },
  };
}
