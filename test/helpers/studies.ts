/**
 * Studies for the transport tests: a small table with a class target and a numeric one, and a
 * request whose study trains in a few seconds (4 trials, rungs 1, 2, 4 epochs: with η 2, two
 * trials go on to 2 epochs and one to 4).
 */
import type { StudyRequestInput } from "../../src/training/studies/schemas.ts";

/** 48 rows: two features, `cls` (a or b: which side of x1 + x2 = 0) and `val` (a number). */
export function studyCsv(): string {
  const lines = ["x1,x2,cls,val"];
  for (let i = 0; i < 48; i++) {
    const x1 = ((i * 7) % 13) / 6 - 1;
    const x2 = ((i * 5) % 11) / 5 - 1;
    const cls = x1 + x2 > 0 ? "a" : "b";
    lines.push(`${x1.toFixed(3)},${x2.toFixed(3)},${cls},${(2 * x1 - x2).toFixed(3)}`);
  }
  return lines.join("\n");
}

/** A study of 4 trials over rungs 1, 2, 4 (η 2), two segments at once. */
export function tinyStudy(dataset: string, overrides: Partial<StudyRequestInput> = {}) {
  return {
    name: "tiny",
    model: "tiny-study",
    dataset,
    target: "cls",
    features: ["x1", "x2"],
    objective: { metric: "valLoss" },
    space: {
      layers: { choice: [[4], [8]] },
      learningRate: { logUniform: [0.001, 0.1] },
    },
    budget: { trials: 4, maxEpochs: 4, minEpochs: 1, reductionFactor: 2, maxConcurrent: 2 },
    seed: 7,
    ...overrides,
  } satisfies StudyRequestInput;
}

/** A request with one part replaced, as a client would send it (no type check on purpose). */
export function withPatch(request: object, patch: Record<string, unknown>): unknown {
  return { ...request, ...patch };
}

/**
 * The bad inputs of issue 22 that the schema refuses, each with the field path REST and gRPC
 * name. The data-dependent ones (valAccuracy on a regressor, maxConcurrent above the per-key
 * job limit) need the dataset and the configuration, and are in the tests themselves.
 */
export function schemaRefusals(dataset: string) {
  const base = tinyStudy(dataset);
  return [
    {
      what: "an empty choice",
      body: withPatch(base, { space: { layers: { choice: [] } } }),
      path: "space.layers.choice",
      message: "needs at least one option",
    },
    {
      what: "uniform with low > high",
      body: withPatch(base, { space: { dropout: { uniform: [0.4, 0.1] } } }),
      path: "space.dropout.uniform",
      message: "low 0.4 is greater than high 0.1",
    },
    {
      what: "minEpochs > maxEpochs",
      body: withPatch(base, {
        budget: { trials: 3, maxEpochs: 2, minEpochs: 5, reductionFactor: 2 },
      }),
      path: "budget.minEpochs",
      message: "5 is more than maxEpochs (2): the rungs do not fit",
    },
  ];
}
