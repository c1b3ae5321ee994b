/** ROC and PR curves and regression points against answers worked out by hand. */
import { describe, expect, it } from "vitest";
import {
  binaryCurves,
  MAX_CURVE_POINTS,
  MAX_POINTS,
  regressionPoints,
} from "../../src/training/evaluation-curves.ts";

describe("binaryCurves", () => {
  it("gives an area of 1 and a perfect precision-recall curve when every positive scores higher", () => {
    const curves = binaryCurves("yes", [0.9, 0.8, 0.3, 0.1], [true, true, false, false])!;
    expect(curves.positive).toBe("yes");
    expect(curves.roc).toEqual([
      [0, 0],
      [0, 0.5],
      [0, 1],
      [0.5, 1],
      [1, 1],
    ]);
    expect(curves.auc).toBe(1);
    expect(curves.pr).toEqual([
      [0.5, 1],
      [1, 1],
      [1, 2 / 3],
      [1, 0.5],
    ]);
    expect(curves.averagePrecision).toBe(1);
  });

  it("works out a mixed ranking: AUC is the share of positive-negative pairs ranked right", () => {
    // Ranked: + - + -  → pairs (+1,-2) right, (+1,-4) right, (+3,-2) wrong, (+3,-4) right: 3/4.
    const curves = binaryCurves("p", [0.9, 0.7, 0.5, 0.2], [true, false, true, false])!;
    expect(curves.auc).toBeCloseTo(0.75, 12);
    // Precision at each recall step: 1 at recall 0.5, 2/3 at recall 1.
    expect(curves.averagePrecision).toBeCloseTo(0.5 * 1 + 0.5 * (2 / 3), 12);
  });

  it("treats tied scores as one threshold (a diagonal step, area one half)", () => {
    const curves = binaryCurves("p", [0.5, 0.5], [true, false])!;
    expect(curves.roc).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(curves.auc).toBe(0.5);
  });

  it("has no curves when the test rows hold one class", () => {
    expect(binaryCurves("p", [0.1, 0.9], [true, true])).toBeNull();
    expect(binaryCurves("p", [0.1, 0.9], [false, false])).toBeNull();
  });

  it("keeps at most 101 points, both ends included, however many rows", () => {
    const n = 5_000;
    const scores = Array.from({ length: n }, (_, i) => i / n);
    const positives = scores.map((_, i) => i % 3 === 0);
    const curves = binaryCurves("p", scores, positives)!;
    expect(curves.roc.length).toBe(MAX_CURVE_POINTS);
    expect(curves.roc[0]).toEqual([0, 0]);
    expect(curves.roc.at(-1)).toEqual([1, 1]);
    expect(curves.pr.length).toBe(MAX_CURVE_POINTS);
    expect(curves.pr.at(-1)?.[0]).toBe(1);
  });
});

describe("regressionPoints", () => {
  it("keeps the true and predicted values of the first 500 rows", () => {
    const truth = Float32Array.from({ length: 800 }, (_, i) => i);
    const predicted = Array.from({ length: 800 }, (_, i) => i + 0.5);
    const points = regressionPoints(truth, predicted);
    expect(points.actual).toHaveLength(MAX_POINTS);
    expect(points.predicted).toHaveLength(MAX_POINTS);
    expect(points.actual[499]).toBe(499);
    expect(points.predicted[0]).toBe(0.5);
  });
});
