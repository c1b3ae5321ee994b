import { describe, expect, it } from "vitest";
import { AppError } from "../../../src/platform/errors.ts";
import { decodeOutputs } from "../../../src/versions/preprocessing/decode.ts";
import { encodeRows } from "../../../src/versions/preprocessing/encode.ts";
import {
  type Preprocessing,
  preprocessingSchema,
} from "../../../src/versions/preprocessing/schema.ts";

const preprocessing: Preprocessing = preprocessingSchema.parse({
  formatVersion: 1,
  features: [
    { name: "length", type: "numeric", scaling: "standard", center: 5, scale: 2, impute: 5 },
    { name: "colour", type: "categorical", categories: ["red", "green"], unknown: "zeros" },
    { name: "size", type: "categorical", categories: ["s", "m", "l"], unknown: "error" },
  ],
  target: { name: "kind", type: "categorical", classes: ["a", "b", "c"] },
});

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return (error as AppError).errors;
  }
  throw new Error("expected a validation error");
}

describe("encodeRows", () => {
  it("scales numerics and one-hots categories, by name or by position", () => {
    const named = encodeRows(preprocessing, [{ length: 9, colour: "green", size: "l" }]);
    const positional = encodeRows(preprocessing, [["3", "red", "s"]]);
    expect([...named]).toEqual([2, 0, 1, 0, 0, 1]);
    expect([...positional]).toEqual([-1, 1, 0, 1, 0, 0]);
  });

  it("imputes a missing numeric and zeroes an unknown category when the feature says so", () => {
    expect([...encodeRows(preprocessing, [{ length: null, colour: "blue", size: "m" }])]).toEqual([
      0, 0, 0, 0, 1, 0,
    ]);
  });

  it("names the row and feature of every bad cell", () => {
    const issues = issuesOf(() =>
      encodeRows(preprocessing, [
        { length: "x", colour: "red", size: "xl" },
        { colour: "red", size: "s", weight: 1 },
        [1, "red"],
      ]),
    );
    expect(issues).toEqual([
      { path: "inputs[0].length", message: 'must be a finite number, got "x"' },
      {
        path: "inputs[0].size",
        message: expect.stringContaining('is "xl", not one of the categories'),
      },
      {
        path: "inputs[1].weight",
        message: expect.stringContaining("is not a feature of this model"),
      },
      { path: "inputs[2]", message: expect.stringContaining("must have 3 values") },
    ]);
  });

  it("takes a blank string as missing, never as 0, and refuses hex as a number", () => {
    // Number("  ") is 0: a padded empty CSV field must not become a zero length.
    expect([...encodeRows(preprocessing, [["  ", "red", "s"]])]).toEqual([0, 1, 0, 1, 0, 0]);
    const strict = preprocessingSchema.parse({
      ...preprocessing,
      features: [{ name: "length", type: "numeric", scaling: "none", center: 0, scale: 1 }],
    });
    expect(issuesOf(() => encodeRows(strict, [[" "]]))[0]?.message).toBe(
      "is missing, and this feature has no imputation",
    );
    expect(issuesOf(() => encodeRows(strict, [["0x1f"]]))[0]?.message).toBe(
      'must be a finite number, got "0x1f"',
    );
  });

  it("refuses a missing cell without an imputation", () => {
    expect(issuesOf(() => encodeRows(preprocessing, [{ length: 1, colour: "red" }]))).toEqual([
      { path: "inputs[0].size", message: "is missing, and this feature has no imputation" },
    ]);
  });
});

describe("decodeOutputs", () => {
  it("labels a softmax classifier by argmax with every class's probability", () => {
    const [prediction] = decodeOutputs(preprocessing, [0.2, 0.7, 0.1], 3);
    expect(prediction).toEqual({ label: "b", probabilities: { a: 0.2, b: 0.7, c: 0.1 } });
  });

  it("reads one sigmoid unit as the probability of the second class", () => {
    const binary = {
      ...preprocessing,
      target: { name: "y", type: "categorical" as const, classes: ["no", "yes"] },
    };
    expect(decodeOutputs(binary, [0.25, 0.75], 1)).toEqual([
      { label: "no", probabilities: { no: 0.75, yes: 0.25 } },
      { label: "yes", probabilities: { no: 0.25, yes: 0.75 } },
    ]);
  });

  it("returns a regressor's value in the target's units", () => {
    const regression = {
      ...preprocessing,
      target: { name: "price", type: "numeric" as const, center: 100, scale: 20 },
    };
    expect(decodeOutputs(regression, [0.5, -1], 1)).toEqual([{ value: 110 }, { value: 80 }]);
  });
});
