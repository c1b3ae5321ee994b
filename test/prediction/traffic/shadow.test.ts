/** The shadow runner and its comparisons, without a server: failures stay inside, copies beyond the bound are skipped. */
import { describe, expect, it } from "vitest";
import { TrafficFigures } from "../../../src/prediction/traffic/figures.ts";
import { compareOutputs, ShadowRunner } from "../../../src/prediction/traffic/shadow.ts";
import type { TensorPrediction } from "../../../src/transport/services.ts";

const prediction = (outputs: number[], classes?: number[]): TensorPrediction => ({
  model: "m",
  version: 1,
  rows: classes?.length ?? outputs.length,
  units: classes ? outputs.length / classes.length : 1,
  outputs: Float32Array.from(outputs),
  ...(classes ? { classes } : {}),
});

/** Resolves once `figures` shows `n` finished shadow runs of version 2. */
async function settled(figures: TrafficFigures, n: number) {
  for (let i = 0; i < 1000; i++) {
    const shadow = figures.of("m").shadows[0];
    if (shadow && shadow.requests >= n) return shadow;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error("the shadow runs did not finish");
}

describe("compareOutputs", () => {
  it("counts rows with the same class for classifiers", () => {
    const answer = prediction([0.9, 0.1, 0.8], [1, 0, 1]);
    const shadow = prediction([0.7, 0.6, 0.2], [1, 1, 0]);
    expect(compareOutputs(answer, shadow)).toEqual({ rows: 3, agreeing: 1 });
  });

  it("sums absolute differences for regressors, and refuses outputs of another shape", () => {
    expect(compareOutputs(prediction([1, 2]), prediction([1.5, 1]))).toEqual({
      rows: 2,
      absDiffSum: 1.5,
      values: 2,
    });
    const wide = { ...prediction([1, 2, 3, 4]), rows: 2, units: 2 };
    expect(() => compareOutputs(prediction([1, 2]), wide)).toThrow(/2 outputs/);
  });
});

describe("ShadowRunner", () => {
  it("returns at once, and a failing shadow only counts as an error", async () => {
    const figures = new TrafficFigures();
    const errors: unknown[] = [];
    const runner = new ShadowRunner({ figures, onError: (e) => errors.push(e) });
    let ran = false;
    runner.submit("m", 2, prediction([1]), async () => {
      ran = true;
      throw new Error("shadow broke");
    });
    expect(ran).toBe(false);
    const shadow = await settled(figures, 1);
    expect(shadow).toMatchObject({ version: 2, requests: 1, errors: 1, rowsCompared: 0 });
    expect(errors).toHaveLength(1);
    expect(runner.inFlight).toBe(0);
  });

  it("skips copies beyond maxInFlight and reports agreement to the observer", async () => {
    const figures = new TrafficFigures();
    const seen: (number | null)[] = [];
    const runner = new ShadowRunner({
      figures,
      maxInFlight: 2,
      observer: { shadowCompared: (_m, _v, agreement) => seen.push(agreement) },
    });
    const answer = prediction([0.9, 0.1], [1, 0]);
    for (let i = 0; i < 5; i++) runner.submit("m", 2, answer, async () => answer);
    const shadow = await settled(figures, 5);
    expect(shadow).toMatchObject({ requests: 5, skipped: 3, errors: 0, rowsCompared: 4 });
    expect(shadow.labelAgreement).toBe(1);
    expect(seen).toEqual([1, 1]);
  });
});

describe("TrafficFigures", () => {
  it("gives each version's requests, errors and latency percentiles", () => {
    const figures = new TrafficFigures();
    for (let ms = 1; ms <= 100; ms++) figures.served("m", 3, ms, ms !== 50);
    const [v3] = figures.of("m").versions;
    expect(v3).toEqual({ version: 3, requests: 100, errors: 1, p50Ms: 51, p99Ms: 100 });
    figures.dropModel("m");
    expect(figures.of("m").versions).toEqual([]);
  });
});
