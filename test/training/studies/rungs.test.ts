/** Successive halving's rungs: minEpochs·η^k below maxEpochs, then maxEpochs itself. */
import { describe, expect, it } from "vitest";
import { exhaustiveEpochs, rungEpochs } from "../../../src/training/studies/rungs.ts";

describe("rungEpochs", () => {
  it("multiplies by η from minEpochs and ends at maxEpochs", () => {
    expect(rungEpochs({ minEpochs: 3, maxEpochs: 81, reductionFactor: 3 })).toEqual([3, 9, 27, 81]);
    expect(rungEpochs({ minEpochs: 1, maxEpochs: 16, reductionFactor: 2 })).toEqual([
      1, 2, 4, 8, 16,
    ]);
  });

  it("ends with a shorter last step when maxEpochs is not a power of η away", () => {
    expect(rungEpochs({ minEpochs: 3, maxEpochs: 50, reductionFactor: 3 })).toEqual([3, 9, 27, 50]);
    expect(rungEpochs({ minEpochs: 2, maxEpochs: 3, reductionFactor: 4 })).toEqual([2, 3]);
  });

  it("has one rung when minEpochs is maxEpochs", () => {
    expect(rungEpochs({ minEpochs: 5, maxEpochs: 5, reductionFactor: 3 })).toEqual([5]);
  });

  it("judges random search once, at maxEpochs", () => {
    expect(rungEpochs({ minEpochs: 3, maxEpochs: 81, reductionFactor: 3 }, "random")).toEqual([81]);
  });

  it("refuses minEpochs above maxEpochs", () => {
    expect(() => rungEpochs({ minEpochs: 10, maxEpochs: 9, reductionFactor: 3 })).toThrow(
      RangeError,
    );
  });

  it("prices an exhaustive search as every trial to maxEpochs", () => {
    expect(exhaustiveEpochs(27, 81)).toBe(2187);
  });
});
