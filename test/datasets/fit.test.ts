/**
 * Fitting a dataset's preprocessing: the contract's affine forms for each scaling, categories
 * sorted, a seeded split that repeats, and the errors a request that does not fit gets.
 */
import { describe, expect, it } from "vitest";
import { type FitRequest, fitDataset } from "../../src/datasets/fit.ts";
import { buildTable, numericStats } from "../../src/datasets/table.ts";
import { isAppError } from "../../src/platform/errors.ts";

const table = buildTable({
  header: ["x", "colour", "y"],
  rows: [
    ["1", "red", "10"],
    ["2", "blue", "20"],
    ["3", "red", "30"],
    ["4", "green", "40"],
    ["5", "blue", "50"],
    ["6", "red", "60"],
  ],
  source: "csv",
});
const dataset = { name: "t", rows: table.rows, columns: table.columns };

const request = (extra: Partial<FitRequest> = {}): FitRequest => ({
  target: "y",
  testSplit: 0,
  seed: 1,
  options: { scaling: "standard", unknown: "error" },
  ...extra,
});

function issuesOf(attempt: () => unknown) {
  try {
    attempt();
  } catch (error) {
    if (isAppError(error)) return error.errors;
    throw error;
  }
  throw new Error("expected a validation error");
}

describe("fitDataset", () => {
  it("standardises numbers (population deviation), one-hots categories in sorted order", () => {
    const fitted = fitDataset(dataset, request());
    expect(fitted.task).toBe("regression");
    expect(fitted.width).toBe(4);
    const [x, colour] = fitted.preprocessing.features;
    expect(x).toEqual({
      name: "x",
      type: "numeric",
      scaling: "standard",
      center: 3.5,
      scale: Math.sqrt(17.5 / 6),
    });
    expect(colour).toEqual({
      name: "colour",
      type: "categorical",
      categories: ["blue", "green", "red"],
      unknown: "error",
    });
    expect(fitted.preprocessing.target).toEqual({
      name: "y",
      type: "numeric",
      center: 35,
      scale: Math.sqrt(1750 / 6),
    });
    // Every row trains with testSplit 0; a row is x, then colour one-hot.
    expect(fitted.train.rows).toBe(6);
    expect(fitted.test.rows).toBe(0);
  });

  it("uses min and range for minmax and 0 and 1 for none", () => {
    const minmax = fitDataset(
      dataset,
      request({ options: { scaling: "minmax", unknown: "zeros" } }),
    );
    expect(minmax.preprocessing.features[0]).toMatchObject({ center: 1, scale: 5 });
    const none = fitDataset(dataset, request({ options: { scaling: "none", unknown: "error" } }));
    expect(none.preprocessing.features[0]).toMatchObject({ center: 0, scale: 1 });
  });

  it("holds back the same rows for the same seed, other rows for another", () => {
    const ids = (seed: number) =>
      Array.from(fitDataset(dataset, request({ seed, testSplit: 0.5 })).test.values!);
    expect(ids(7)).toEqual(ids(7));
    expect(ids(7)).toHaveLength(3);
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => ids(s).join());
    expect(new Set(seeds).size).toBeGreaterThan(1);
  });

  it("is a classification of sorted classes for a categorical target", () => {
    const fitted = fitDataset(dataset, request({ target: "colour" }));
    expect(fitted.task).toBe("classification");
    expect(fitted.preprocessing.target).toEqual({
      name: "colour",
      type: "categorical",
      classes: ["blue", "green", "red"],
    });
    expect(Array.from(fitted.train.labels!).sort()).toEqual([0, 0, 1, 2, 2, 2]);
  });

  it("names the field of a request that does not fit the dataset", () => {
    expect(issuesOf(() => fitDataset(dataset, request({ target: "z" })))[0]?.path).toBe("target");
    expect(
      issuesOf(() => fitDataset(dataset, request({ features: ["x", "x"] }))).map((i) => i.path),
    ).toEqual(["features[1]"]);
    expect(
      issuesOf(() => fitDataset(dataset, request({ target: "colour", task: "regression" })))[0]
        ?.path,
    ).toBe("task");
    expect(issuesOf(() => fitDataset(dataset, request({ testSplit: 0.99 })))[0]?.path).toBe(
      "training.testSplit",
    );
    expect(
      issuesOf(() =>
        fitDataset(
          dataset,
          request({ options: { scaling: "standard", unknown: "error", impute: { nope: "mean" } } }),
        ),
      )[0]?.path,
    ).toBe("preprocessing.impute.nope");
  });

  it("refuses an encoded width or size past the limits, from the categories, before encoding", () => {
    // x (1) + colour (3 one-hot) = 4 input columns over 6 rows = 24 values.
    const narrow = issuesOf(() =>
      fitDataset(dataset, request({ limits: { maxInputs: 3, maxEncodedValues: 1000 } })),
    );
    expect(narrow).toEqual([
      {
        path: "features",
        message: expect.stringMatching(
          /encode to 4 input columns \(widest: colour: 3 one-hot\), more than the limit of 3 inputs \(MAX_UNITS\)/,
        ),
      },
    ]);
    const small = issuesOf(() =>
      fitDataset(dataset, request({ limits: { maxInputs: 4, maxEncodedValues: 23 } })),
    );
    expect(small[0]?.message).toMatch(/6 rows x 4 columns = 24 values.*MAX_ENCODED_VALUES/);
    const fits = fitDataset(dataset, request({ limits: { maxInputs: 4, maxEncodedValues: 24 } }));
    expect(fits.width).toBe(4);
  });
});

describe("numericStats", () => {
  it("keeps mean and std finite for values near the float64 limit", () => {
    const stats = numericStats("big", Float64Array.from([1e308, 1e308, -1e308, 1e308, Number.NaN]));
    expect(stats).toMatchObject({ count: 4, missing: 1, min: -1e308, max: 1e308 });
    // Mean 0.5e308; population std sqrt(3/4) * 1e308 (deviations 0.5, 0.5, -1.5, 0.5 x 1e308).
    expect(stats.mean! / 1e308).toBeCloseTo(0.5, 12);
    expect(stats.std! / 1e308).toBeCloseTo(Math.sqrt(0.75), 12);
    const same = numericStats("same", Float64Array.from([1e308, 1e308]));
    expect(same).toMatchObject({ mean: 1e308, std: 0 });
    // Ordinary values are unchanged: 1..4 has mean 2.5 and population std sqrt(1.25).
    const small = numericStats("small", Float64Array.from([1, 2, 3, 4]));
    expect(small.mean).toBeCloseTo(2.5, 14);
    expect(small.std).toBeCloseTo(Math.sqrt(1.25), 14);
  });
});

describe("robust scaling and smooth clipping", () => {
  const skewed = buildTable({
    header: ["x", "y"],
    rows: [
      ["1", "1"],
      ["2", "2"],
      ["3", "3"],
      ["4", "4"],
      ["1000", "5"],
    ],
    source: "csv",
  });
  const data = { name: "s", rows: skewed.rows, columns: skewed.columns };

  it("centers on the median and scales by the interquartile range, for features and target", () => {
    const fitted = fitDataset(data, request({ options: { scaling: "robust", unknown: "error" } }));
    // x: median 3, q25 2, q75 4; y: median 3, IQR 2
    expect(fitted.preprocessing.features[0]).toEqual({
      name: "x",
      type: "numeric",
      scaling: "robust",
      center: 3,
      scale: 2,
    });
    expect(fitted.preprocessing.target).toMatchObject({ center: 3, scale: 2 });
  });

  it("with clip, bounds the scaled outlier near 3 and leaves small values nearly as they are", () => {
    const fitted = fitDataset(
      data,
      request({ options: { scaling: "robust", unknown: "error", clip: true } }),
    );
    expect(fitted.preprocessing.features[0]).toMatchObject({ clip: 3 });
    const x = Array.from(fitted.train.inputs);
    const z = (v: number) => (v - 3) / 2;
    const clipped = (v: number) => z(v) / Math.sqrt(1 + (z(v) / 3) ** 2);
    expect(x.sort((a, b) => a - b)).toEqual(
      [1, 2, 3, 4, 1000].map((v) => Math.fround(clipped(v))).sort((a, b) => a - b),
    );
    expect(Math.max(...x)).toBeLessThan(3);
  });
});
