/**
 * The ONNX protobuf messages (proto/onnx/onnx-model.proto), loaded once with protobufjs, and the
 * encoder of a whole model. Plain objects in, bytes out: protobufjs checks every field against the
 * schema (`verify`) before encoding, so a misspelt field is an error here rather than a field
 * silently left out of the file.
 */
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const PROTO_FILE = fileURLToPath(new URL("../../../proto/onnx/onnx-model.proto", import.meta.url));

let root: protobuf.Root | undefined;

function onnxRoot(): protobuf.Root {
  root ??= protobuf.loadSync(PROTO_FILE);
  return root;
}

/** TensorProto.DataType values used by the exporter. */
export const DATA_TYPE = { FLOAT: 1, INT64: 7, STRING: 8, BOOL: 9, DOUBLE: 11 } as const;

/** AttributeProto.AttributeType values used by the exporter. */
export const ATTRIBUTE_TYPE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** Encodes a ModelProto given as a plain object (protobufjs field names: camelCase). */
export function encodeModelProto(model: Record<string, unknown>): Uint8Array {
  const type = onnxRoot().lookupType("onnx.ModelProto");
  const problem = type.verify(model);
  if (problem) throw new Error(`ONNX model does not match onnx.ModelProto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Decodes a ModelProto into a plain object; for tests and tools that inspect an export. */
export function decodeModelProto(bytes: Uint8Array): Record<string, unknown> {
  const type = onnxRoot().lookupType("onnx.ModelProto");
  return type.toObject(type.decode(bytes), {
    longs: Number,
    bytes: Buffer,
    defaults: false,
  }) as Record<string, unknown>;
}
