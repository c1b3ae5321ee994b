import { describe, expect, it } from "vitest";
import {
  bytesToFloat32,
  bytesToInt32,
  float32ToBytes,
  int32ToBytes,
} from "../../../src/platform/db/binary.ts";

describe("stored binary arrays", () => {
  it("writes Float32 values little-endian and reads them back exactly", () => {
    const values = new Float32Array([1, -2.5, Number.NaN, 3.4028234663852886e38]);
    const bytes = float32ToBytes(values);

    expect([...bytes.subarray(0, 4)]).toEqual([0x00, 0x00, 0x80, 0x3f]); // 1.0f
    expect(bytesToFloat32(bytes)).toEqual(values);
  });

  it("writes Int32 labels little-endian and reads them back", () => {
    const labels = new Int32Array([0, 1, -1, 258]);
    const bytes = int32ToBytes(labels);

    expect([...bytes.subarray(12, 16)]).toEqual([0x02, 0x01, 0x00, 0x00]); // 258
    expect(bytesToInt32(bytes)).toEqual(labels);
  });

  it("copies from a view into a larger buffer, not the whole buffer", () => {
    const whole = new Float32Array([9, 1, 2, 9]);

    expect(bytesToFloat32(float32ToBytes(whole.subarray(1, 3)))).toEqual(new Float32Array([1, 2]));
  });

  it("rejects a byte length that is not a whole number of values", () => {
    expect(() => bytesToFloat32(new Uint8Array(6))).toThrow(RangeError);
  });
});
