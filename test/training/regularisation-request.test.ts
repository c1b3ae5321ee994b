/**
 * The train request's modelling fields: dropout, adamw, schedules, label smoothing, class
 * weights, warm start and the recipe's "no network": what is accepted, and each refusal with
 * its field path.
 */
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/platform/errors.ts";
import { parseRequest } from "../../src/platform/validation/parse.ts";
import { createTrainRequestSchema, resolveClassWeights } from "../../src/training/request.ts";

const schema = createTrainRequestSchema({
  maxEpochs: 10_000,
  maxLayers: 32,
  maxUnits: 4096,
  maxParameters: 10_000_000,
  maxRows: 100_000,
  maxPredictRows: 10_000,
});

const INPUTS = Array.from({ length: 40 }, (_, i) => [i / 40, (i % 7) / 7]);
const base = () => ({
  model: "m",
  network: {
    inputs: 2,
    layers: [
      { units: 8, activation: "relu" },
      { units: 3, activation: "softmax" },
    ],
  },
  loss: "sparseCategoricalCrossentropy",
  training: { epochs: 4, batchSize: 10 },
  data: { inputs: INPUTS, labels: INPUTS.map((_, i) => i % 3) },
});
type Body = ReturnType<typeof base> & Record<string, unknown>;

function paths(body: unknown): string[] {
  try {
    parseRequest(schema, body);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return (error as AppError).errors.map((e) => e.path);
  }
  return [];
}

const withChange = (change: (b: Body) => void) => {
  const b = structuredClone(base()) as Body;
  change(b);
  return b;
};

describe("accepted", () => {
  it("dropout, adamw with a cosine schedule in steps, smoothing, class weights, from", () => {
    const parsed = parseRequest(
      schema,
      withChange((b) => {
        (b.network as Record<string, unknown>).inputDropout = 0.1;
        (b.network.layers[0] as Record<string, unknown>).dropout = 0.5;
        b.optimizer = {
          name: "adamw",
          weightDecay: 0.05,
          decay: { type: "cosine", unit: "steps", warmup: 5 },
        };
        Object.assign(b.training, {
          labelSmoothing: 0.1,
          classWeights: { "0": 2 },
          storeOptimizerState: false,
        });
        b.from = { model: "m", version: 2 };
      }),
    );
    expect(parsed.network?.layers[0]).toMatchObject({ dropout: 0.5 });
    expect(parsed.optimizer).toMatchObject({
      name: "adamw",
      learningRate: 0.001,
      weightDecay: 0.05,
    });
    expect(parsed.training).toMatchObject({ labelSmoothing: 0.1, classWeights: { "0": 2 } });
  });

  it('no network, or "auto", with a dataset: network, loss and training left to the recipe', () => {
    for (const network of [undefined, "auto"]) {
      const parsed = parseRequest(schema, {
        model: "m",
        dataset: "4b0d2a4e-9c1f-4a51-9f0a-2f0b6f1d3c55",
        target: "y",
        ...(network ? { network } : {}),
      });
      expect(parsed.network).toBeUndefined();
      expect(parsed.loss).toBeUndefined();
      expect(parsed.optimizer).toBeUndefined();
    }
  });
});

describe("refused, with the field path", () => {
  const cases: [string, (b: Body) => void, string[]][] = [
    [
      "dropout of 1",
      (b) => Object.assign(b.network.layers[0]!, { dropout: 1 }),
      ["network.layers[0].dropout"],
    ],
    [
      "negative dropout",
      (b) => Object.assign(b.network.layers[0]!, { dropout: -0.1 }),
      ["network.layers[0].dropout"],
    ],
    [
      "input dropout of 1.5",
      (b) => Object.assign(b.network, { inputDropout: 1.5 }),
      ["network.inputDropout"],
    ],
    [
      "dropout on the output layer",
      (b) => Object.assign(b.network.layers[1]!, { dropout: 0.2 }),
      ["network.layers[1].dropout"],
    ],
    [
      "a class weight naming no class",
      (b) => Object.assign(b.training, { classWeights: { "0": 1, "7": 2 } }),
      ['training.classWeights["7"]'],
    ],
    [
      "class weights that are neither balanced nor a map",
      (b) => Object.assign(b.training, { classWeights: "even" }),
      ["training.classWeights"],
    ],
    [
      "label smoothing on a regression loss",
      (b) => {
        b.loss = "mse";
        b.network.layers[1] = { units: 1, activation: "linear" };
        (b as Record<string, unknown>).data = { inputs: INPUTS, targets: INPUTS.map(() => [0]) };
        Object.assign(b.training, { labelSmoothing: 0.1 });
      },
      ["training.labelSmoothing"],
    ],
    [
      "a warmup in epochs as long as the run",
      (b) => {
        b.optimizer = { name: "adam", decay: { type: "cosine", warmup: 4 } } as never;
      },
      ["optimizer.decay.warmup"],
    ],
    [
      "a warmup in steps longer than the run (4 epochs of 4 steps)",
      (b) => {
        b.optimizer = {
          name: "adam",
          decay: { type: "oneCycle", unit: "steps", warmup: 16 },
        } as never;
      },
      ["optimizer.decay.warmup"],
    ],
    [
      "an unknown schedule",
      (b) => {
        b.optimizer = { name: "adam", decay: { type: "linear" } } as never;
      },
      ["optimizer.decay.type"],
    ],
    [
      "no network with inline data",
      (b) => {
        delete (b as Record<string, unknown>).network;
      },
      ["network"],
    ],
    [
      "a network without a loss",
      (b) => {
        delete (b as Record<string, unknown>).loss;
      },
      ["loss"],
    ],
    [
      "from without a version",
      (b) => {
        b.from = { model: "m" };
      },
      ["from.version"],
    ],
  ];
  for (const [name, change, expected] of cases) {
    it(name, () => expect(paths(withChange(change))).toEqual(expected));
  }

  it("a warmup that ends before the run passes", () => {
    expect(
      paths(
        withChange((b) => {
          b.optimizer = {
            name: "adam",
            decay: { type: "oneCycle", unit: "steps", warmup: 15 },
          } as never;
        }),
      ),
    ).toEqual([]);
  });
});

describe("class weights", () => {
  it('"balanced" is n / (classes · n_class), a map fills the rest with 1', () => {
    expect(resolveClassWeights("balanced", ["a", "b"], [0, 0, 0, 1])).toEqual([4 / 6, 2]);
    expect(resolveClassWeights({ b: 3 }, ["a", "b", "c"], [])).toEqual([1, 3, 1]);
    expect(resolveClassWeights("balanced", ["a", "b", "c"], [0, 1, 1])).toEqual([1, 0.5, 0]);
  });
});
