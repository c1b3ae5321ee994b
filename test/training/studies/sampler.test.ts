/**
 * The seeded sampler: each distribution stays in its range (int ends included, logUniform
 * spread evenly in log space), the same seed gives the same parameters in the same trial
 * order, and trial n's parameters do not depend on how many trials are drawn.
 */
import { describe, expect, it } from "vitest";
import { sampleTrial, sampleTrials } from "../../../src/training/studies/sampler.ts";
import { createSearchSpaceSchema } from "../../../src/training/studies/schemas.ts";
import { LIMITS } from "./fixtures.ts";

const space = (input: unknown) => createSearchSpaceSchema(LIMITS).parse(input);
const N = 2_000;

describe("sampleTrials", () => {
  it("draws uniform values inside [low, high]", () => {
    const values = sampleTrials(space({ dropout: { uniform: [0.1, 0.4] } }), 1, N).map(
      (p) => p.dropout!,
    );
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0.1);
    expect(Math.max(...values)).toBeLessThanOrEqual(0.4);
    const mean = values.reduce((a, b) => a + b, 0) / N;
    expect(mean).toBeGreaterThan(0.23);
    expect(mean).toBeLessThan(0.27);
  });

  it("spreads logUniform values evenly over the decades", () => {
    const values = sampleTrials(space({ learningRate: { logUniform: [1e-4, 1e-1] } }), 2, N).map(
      (p) => p.learningRate!,
    );
    expect(Math.min(...values)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...values)).toBeLessThanOrEqual(1e-1);
    // Three decades, about a third each; a uniform draw would put 90% in the last one.
    for (const [low, high] of [
      [1e-4, 1e-3],
      [1e-3, 1e-2],
      [1e-2, 1e-1],
    ] as const) {
      const share = values.filter((v) => v >= low && v < high).length / N;
      expect(share).toBeGreaterThan(0.28);
      expect(share).toBeLessThan(0.39);
    }
  });

  it("draws whole numbers with both ends of an int range", () => {
    const values = sampleTrials(space({ batchSize: { int: [16, 20] } }), 3, N).map(
      (p) => p.batchSize!,
    );
    expect(values.every(Number.isInteger)).toBe(true);
    expect(new Set(values)).toEqual(new Set([16, 17, 18, 19, 20]));
  });

  it("picks every choice, as given", () => {
    const values = sampleTrials(space({ layers: { choice: [[8], [16, 8], [32, 16, 8]] } }), 4, 200);
    expect(new Set(values.map((p) => JSON.stringify(p.layers)))).toEqual(
      new Set(["[8]", "[16,8]", "[32,16,8]"]),
    );
  });

  it("gives the same parameters in the same order for the same seed, others for another", () => {
    const s = space({
      layers: { choice: [[8], [16]] },
      learningRate: { logUniform: [1e-4, 1e-1] },
      dropout: { uniform: [0, 0.5] },
    });
    expect(sampleTrials(s, 7, 20)).toEqual(sampleTrials(s, 7, 20));
    expect(sampleTrials(s, 8, 20)).not.toEqual(sampleTrials(s, 7, 20));
  });

  it("draws trial n the same whatever the number of trials", () => {
    const s = space({ learningRate: { logUniform: [1e-4, 1e-1] }, batchSize: { int: [8, 64] } });
    const few = sampleTrials(s, 11, 5);
    const many = sampleTrials(s, 11, 50);
    expect(many.slice(0, 5)).toEqual(few);
    expect(sampleTrial(s, 11, 5)).toEqual(few[4]);
  });

  it("keeps a parameter's values when another joins the space", () => {
    const one = sampleTrials(space({ dropout: { uniform: [0, 0.5] } }), 5, 10);
    const two = sampleTrials(
      space({ dropout: { uniform: [0, 0.5] }, learningRate: { logUniform: [1e-4, 1e-1] } }),
      5,
      10,
    );
    expect(two.map((p) => p.dropout)).toEqual(one.map((p) => p.dropout));
  });
});
