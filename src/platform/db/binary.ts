import { endianness } from "node:os";

// Weights and training data are stored little-endian whatever the host, so that a database
// written on one machine reads the same on any other; on little-endian hosts (all we run on)
// these are plain views and copies, without per-element work. Tensors on the wire (gRPC packed
// rows, the inference protocol's raw and binary data) are little-endian too, and use these.
const littleEndianHost = endianness() === "LE";

export function float32ToBytes(values: Float32Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(values.length * 4);
  if (littleEndianHost) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return bytes;
  }
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  assertMultipleOfFour(bytes, "Float32");
  const values = new Float32Array(bytes.byteLength / 4);
  if (littleEndianHost) {
    new Uint8Array(values.buffer).set(bytes);
    return values;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  return values;
}

export function int32ToBytes(values: Int32Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(values.length * 4);
  if (littleEndianHost) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return bytes;
  }
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(i * 4, values[i]!, true);
  return bytes;
}

export function bytesToInt32(bytes: Uint8Array): Int32Array {
  assertMultipleOfFour(bytes, "Int32");
  const values = new Int32Array(bytes.byteLength / 4);
  if (littleEndianHost) {
    new Uint8Array(values.buffer).set(bytes);
    return values;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < values.length; i++) values[i] = view.getInt32(i * 4, true);
  return values;
}

function assertMultipleOfFour(bytes: Uint8Array, kind: string): void {
  if (bytes.byteLength % 4 !== 0) {
    throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${kind} values`);
  }
}

export function float64ToBytes(values: Float64Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(values.length * 8);
  if (littleEndianHost) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return bytes;
  }
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true);
  return bytes;
}

export function bytesToFloat64(bytes: Uint8Array): Float64Array {
  if (bytes.byteLength % 8 !== 0) {
    throw new RangeError(`${bytes.byteLength} bytes is not a whole number of Float64 values`);
  }
  const values = new Float64Array(bytes.byteLength / 8);
  if (littleEndianHost) {
    new Uint8Array(values.buffer).set(bytes);
    return values;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat64(i * 8, true);
  return values;
}
