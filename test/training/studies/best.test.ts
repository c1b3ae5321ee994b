/**
 * Which result is the study's best: one judged after more epochs beats any judged after
 * fewer, whatever its metric; at the same epochs the better metric in the objective's
 * direction wins, and the lower trial number breaks a tie.
 */
import { describe, expect, it } from "vitest";
import { type Best, beats } from "../../../src/training/studies/segment-outcomes.ts";
import type { StudyContext } from "../../../src/training/studies/study-rows.ts";

const minimize = { direction: "minimize" } as StudyContext;
const maximize = { direction: "maximize" } as StudyContext;
const result = (trial: number, epochs: number, metric: number): Best => ({
  trial,
  epochs,
  metric,
  version: trial,
});

describe("the study's best", () => {
  it("is the first result there is", () => {
    expect(beats(minimize, result(1, 3, 0.5), null)).toBe(true);
  });

  it("goes to a result after more epochs even when a shorter one had a better metric", () => {
    const lucky = result(1, 3, 0.1);
    expect(beats(minimize, result(2, 9, 0.4), lucky)).toBe(true);
    expect(beats(minimize, lucky, result(2, 9, 0.4))).toBe(false);
  });

  it("compares metrics at the same epochs in the objective's direction", () => {
    expect(beats(minimize, result(2, 9, 0.3), result(1, 9, 0.4))).toBe(true);
    expect(beats(minimize, result(2, 9, 0.5), result(1, 9, 0.4))).toBe(false);
    expect(beats(maximize, result(2, 9, 0.5), result(1, 9, 0.4))).toBe(true);
  });

  it("keeps the lower trial number on a tie", () => {
    expect(beats(minimize, result(2, 9, 0.4), result(1, 9, 0.4))).toBe(false);
    expect(beats(minimize, result(1, 9, 0.4), result(2, 9, 0.4))).toBe(true);
  });
});
