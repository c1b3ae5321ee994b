/**
 * inference.GRPCInferenceService, the Open Inference Protocol's gRPC binding: the wire mapping
 * only. Everything the protocol means for nnserve lives in src/prediction/inference.ts, which the
 * REST binding (/v2/...) shares.
 */

import type { GRPCInferenceServiceHandlers } from "../../generated/grpc/inference/GRPCInferenceService.ts";
import type { InferTensorContents__Output } from "../../generated/grpc/inference/InferTensorContents.ts";
import type { ModelInferRequest__Output } from "../../generated/grpc/inference/ModelInferRequest.ts";
import type { ModelInferResponse } from "../../generated/grpc/inference/ModelInferResponse.ts";
import { type FieldIssue, validationError } from "../../platform/errors.ts";
import type { Logger } from "../../platform/logger.ts";
import {
  encodeRaw,
  type InferenceService,
  type InferInput,
  type InferRequest,
} from "../../prediction/inference.ts";
import { unary } from "./status.ts";

/** Which `contents` field carries each datatype nnserve accepts, and its name on the wire. */
const CONTENTS_FIELDS = {
  FP32: ["fp32Contents", "fp32_contents"],
  FP64: ["fp64Contents", "fp64_contents"],
  INT32: ["intContents", "int_contents"],
  INT64: ["int64Contents", "int64_contents"],
} as const satisfies Record<string, [keyof InferTensorContents__Output, string]>;

/** Every `contents` field, by its JS name, with its name on the wire. */
const WIRE_NAMES: Record<keyof InferTensorContents__Output, string> = {
  boolContents: "bool_contents",
  intContents: "int_contents",
  int64Contents: "int64_contents",
  uintContents: "uint_contents",
  uint64Contents: "uint64_contents",
  fp32Contents: "fp32_contents",
  fp64Contents: "fp64_contents",
  bytesContents: "bytes_contents",
};
const ALL_CONTENTS = Object.keys(WIRE_NAMES) as (keyof InferTensorContents__Output)[];

/** The wire request as the transport-neutral one; checks what only the wire can get wrong. */
export function inferRequestFromMessage(req: ModelInferRequest__Output): InferRequest {
  const raw = req.rawInputContents.length > 0;
  const issues: FieldIssue[] = [];
  if (raw && req.rawInputContents.length !== req.inputs.length) {
    issues.push({
      path: "raw_input_contents",
      message: `has ${req.rawInputContents.length} entries; give one per input (${req.inputs.length})`,
    });
  }
  const inputs = req.inputs.map((tensor, i): InferInput => {
    const at = `inputs[${i}]`;
    const used = ALL_CONTENTS.filter((key) => (tensor.contents?.[key].length ?? 0) > 0);
    const base = { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape };
    if (raw) {
      if (used.length > 0) {
        issues.push({
          path: `${at}.contents`,
          message: "must be empty when raw_input_contents is used",
        });
      }
      const bytes = req.rawInputContents[i] ?? Buffer.alloc(0);
      return { ...base, data: { kind: "raw", bytes }, dataPath: `raw_input_contents[${i}]` };
    }
    const field = CONTENTS_FIELDS[tensor.datatype as keyof typeof CONTENTS_FIELDS];
    if (!field)
      return { ...base, data: { kind: "values", values: [] }, dataPath: `${at}.contents` };
    const [key, wireName] = field;
    const other = used.filter((k) => k !== key);
    if (other.length > 0) {
      issues.push({
        path: `${at}.contents`,
        message: `datatype ${tensor.datatype} takes ${wireName}; got ${other.map((k) => WIRE_NAMES[k]).join(", ")}`,
      });
    }
    return {
      ...base,
      data: { kind: "values", values: tensor.contents?.[key] ?? [] },
      dataPath: `${at}.contents.${wireName}`,
    };
  });
  if (issues.length > 0) throw validationError(issues);
  const routingKey = req.parameters.routing_key?.stringParam;
  if (routingKey !== undefined && routingKey.length > 256) {
    throw validationError([
      { path: "parameters.routing_key", message: "must be at most 256 characters" },
    ]);
  }
  return {
    modelName: req.modelName,
    modelVersion: req.modelVersion,
    id: req.id,
    inputs,
    outputs: req.outputs.map((o) => o.name),
    // A sticky split's routing key, as the REST form takes it in `parameters.routing_key`.
    ...(routingKey ? { routingKey } : {}),
  };
}

export interface InferenceHandlerDeps {
  inference: InferenceService;
  logger: Logger;
}

export function inferenceHandlers({
  inference,
  logger,
}: InferenceHandlerDeps): GRPCInferenceServiceHandlers {
  return {
    ServerLive: unary(logger, "ServerLive", () => ({ live: inference.serverLive() })),
    ServerReady: unary(logger, "ServerReady", async () => ({
      ready: await inference.serverReady(),
    })),
    ServerMetadata: unary(logger, "ServerMetadata", () => inference.serverMetadata()),
    ModelReady: unary(logger, "ModelReady", async (req) => ({
      ready: await inference.modelReady(req.name, req.version),
    })),
    ModelMetadata: unary(logger, "ModelMetadata", (req) =>
      inference.modelMetadata(req.name, req.version),
    ),
    ModelInfer: unary(logger, "ModelInfer", async (req) => {
      const result = await inference.infer(inferRequestFromMessage(req));
      // Answer in the form the client used.
      const raw = req.rawInputContents.length > 0;
      const response: ModelInferResponse = {
        modelName: result.modelName,
        modelVersion: result.modelVersion,
        id: result.id,
        ...(result.alias === undefined
          ? {}
          : { parameters: { alias: { stringParam: result.alias } } }),
        outputs: result.outputs.map((output) => ({
          name: output.name,
          datatype: output.datatype,
          shape: output.shape,
          ...(!raw && {
            contents:
              output.datatype === "FP32"
                ? { fp32Contents: Array.from(output.data) }
                : { int64Contents: Array.from(output.data, String) },
          }),
        })),
      };
      if (raw) response.rawOutputContents = result.outputs.map((o) => Buffer.from(encodeRaw(o)));
      return response;
    }),
  };
}
