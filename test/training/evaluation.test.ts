/** The test-split scores against answers worked out by hand. */
import { describe, expect, it } from "vitest";
import { scoreClassification, scoreRegression } from "../../src/training/evaluation.ts";

describe("scoreClassification", () => {
  it("gives accuracy, per-class precision/recall/F1/support and the confusion matrix", () => {
    // true:      a a a b b c
    // predicted: a a b b c c
    const score = scoreClassification(
      ["a", "b", "c"],
      [0, 0, 0, 1, 1, 2],
      ["a", "a", "b", "b", "c", "c"],
    );
    expect(score).toEqual({
      task: "classification",
      rows: 6,
      accuracy: 4 / 6,
      classes: [
        { label: "a", precision: 1, recall: 2 / 3, f1: 0.8, support: 3 },
        { label: "b", precision: 0.5, recall: 0.5, f1: 0.5, support: 2 },
        { label: "c", precision: 0.5, recall: 1, f1: 2 / 3, support: 1 },
      ],
      confusionMatrix: {
        labels: ["a", "b", "c"],
        matrix: [
          [2, 1, 0],
          [0, 1, 1],
          [0, 0, 1],
        ],
      },
    });
  });

  it("gives 0, not NaN, for a class never predicted and never present", () => {
    const score = scoreClassification(["x", "y"], [0, 0], ["x", "x"]);
    if (score.task !== "classification") throw new Error("classification expected");
    expect(score.classes[1]).toEqual({ label: "y", precision: 0, recall: 0, f1: 0, support: 0 });
  });
});

describe("scoreRegression", () => {
  it("gives MAE, RMSE and R² in the target's units", () => {
    // errors: +1, -1, +2, 0; truth mean 5, total sum of squares 20.
    const score = scoreRegression([2, 4, 6, 8], [3, 3, 8, 8]);
    expect(score).toEqual({
      task: "regression",
      rows: 4,
      mae: 1,
      rmse: Math.sqrt(6 / 4),
      r2: 1 - 6 / 20,
    });
  });

  it("has no R² when every true value is the same", () => {
    expect(scoreRegression([3, 3], [2, 4])).toMatchObject({ mae: 1, r2: null });
  });
});
