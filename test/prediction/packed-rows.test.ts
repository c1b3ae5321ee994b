import { describe, expect, it } from "vitest";
import { packRows, unpackRows } from "../../src/prediction/packed-rows.ts";

describe("packed rows", () => {
  it("packs rows row-major as float32 and unpacks them back", () => {
    const packed = packRows(
      [
        [1, 2, 3],
        [4, 5, 0.1],
      ],
      3,
    );
    expect(packed).toBeInstanceOf(Float32Array);
    expect(Array.from(packed.subarray(0, 5))).toEqual([1, 2, 3, 4, 5]);
    expect(packed[5]).toBe(Math.fround(0.1));
    expect(unpackRows(packed, 2, 3)).toEqual([
      [1, 2, 3],
      [4, 5, Math.fround(0.1)],
    ]);
  });

  it("gives no rows for none", () => {
    expect(packRows([], 4)).toHaveLength(0);
    expect(unpackRows(new Float32Array(0), 0, 4)).toEqual([]);
  });
});
