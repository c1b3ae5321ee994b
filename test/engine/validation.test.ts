import { describe, expect, it } from "vitest";
import {
  createNetwork,
  datasetFromArrays,
  type EngineError,
  type NetworkSpec,
  type TrainOptions,
  toFloat32Matrix,
  toInt32Labels,
  fit as train,
} from "../../src/engine/index.ts";
import { expectEngineError, expectEngineErrorAsync } from "./helpers.ts";

const OK: NetworkSpec = {
  inputs: 2,
  layers: [
    { units: 3, activation: "relu" },
    { units: 2, activation: "softmax" },
  ],
};

function withLayer(i: number, patch: Record<string, unknown>): unknown {
  const layers = OK.layers.map((l, j) => (j === i ? { ...l, ...patch } : l));
  return { ...OK, layers };
}

describe("createNetwork rejects a bad spec, naming the field", () => {
  const table: [string, unknown, string, RegExp][] = [
    ["a spec that is not an object", 42, "spec", /must be an object/],
    ["zero inputs", { ...OK, inputs: 0 }, "inputs", /between 1 and/],
    ["fractional inputs", { ...OK, inputs: 2.5 }, "inputs", /integer/],
    ["missing layers", { inputs: 2 }, "layers", /array of layers/],
    ["no layers", { inputs: 2, layers: [] }, "layers", /at least one layer/],
    ["a layer that is not an object", { inputs: 2, layers: [7] }, "layers[0]", /must be an object/],
    ["a layer with zero units", withLayer(1, { units: 0 }), "layers[1].units", /between 1 and/],
    ["a layer with NaN units", withLayer(0, { units: Number.NaN }), "layers[0].units", /integer/],
    [
      "an unknown activation",
      withLayer(0, { activation: "swish" }),
      "layers[0].activation",
      /one of step, sigmoid/,
    ],
    [
      "softmax on a hidden layer",
      withLayer(0, { activation: "softmax" }),
      "layers[0].activation",
      /only allowed on the output layer/,
    ],
    [
      "a negative leakyRelu alpha",
      withLayer(0, { activation: "leakyRelu", alpha: -1 }),
      "layers[0].alpha",
      />= 0/,
    ],
    ["a zero elu alpha", withLayer(0, { activation: "elu", alpha: 0 }), "layers[0].alpha", /> 0/],
    [
      "alpha on relu",
      withLayer(0, { alpha: 0.2 }),
      "layers[0].alpha",
      /only leakyRelu and elu take alpha/,
    ],
    [
      "an unknown initializer",
      withLayer(0, { initializer: "ones" }),
      "layers[0].initializer",
      /one of glorotUniform/,
    ],
    [
      "too many parameters",
      { inputs: 100_000, layers: [{ units: 100_000, activation: "relu" }] },
      "layers",
      /more than 100000000 parameters/,
    ],
  ];
  for (const [what, spec, field, message] of table) {
    it(`rejects ${what}`, () =>
      expectEngineError(() => createNetwork(spec as NetworkSpec), field, message));
  }

  it("rejects a non-integer seed", () =>
    expectEngineError(() => createNetwork(OK, { seed: 0.5 }), "seed", /integer/));

  it("puts the field first in the message, for logs", () => {
    const e = (() => {
      try {
        createNetwork(withLayer(1, { units: 0 }) as NetworkSpec);
      } catch (err) {
        return err as EngineError;
      }
    })();
    expect(e?.message).toMatch(/^layers\[1\]\.units: /);
  });
});

describe("the JSON helpers reject bad rows, naming the element", () => {
  it("builds a row-major Float32Array", () => {
    const m = toFloat32Matrix([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(m.rows).toBe(2);
    expect(m.cols).toBe(3);
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it("builds a dataset with labels from JSON arrays, ready for fit", async () => {
    const data = datasetFromArrays({
      inputs: [
        [0, 1],
        [1, 0],
        [1, 1],
      ],
      labels: [1, 0, 1],
    });
    expect(data.rows).toBe(3);
    expect(Array.from(data.labels!)).toEqual([1, 0, 1]);
    const net = createNetwork(OK);
    const result = await train(net, data, {
      loss: "sparseCategoricalCrossentropy",
      optimizer: { name: "adam" },
      epochs: 2,
      batchSize: 2,
    });
    expect(result.epochsRun).toBe(2);
  });
  it("rejects a ragged row", () =>
    expectEngineError(
      () => toFloat32Matrix([[1, 2], [3]]),
      "inputs[1]",
      /must have 2 values, got 1/,
    ));
  it("rejects a non-finite value", () =>
    expectEngineError(
      () =>
        toFloat32Matrix([
          [1, 2],
          [3, Number.NaN],
        ]),
      "inputs[1][1]",
      /finite/,
    ));
  it("rejects a value that overflows float32", () =>
    expectEngineError(() => toFloat32Matrix([[1e39]]), "inputs[0][0]", /finite in float32/));
  it("rejects a string value", () =>
    expectEngineError(() => toFloat32Matrix([[1, "2"]]), "inputs[0][1]", /must be a number/));
  it("rejects an empty list", () =>
    expectEngineError(() => toFloat32Matrix([]), "inputs", /at least one row/));
  it("rejects a row width that differs from the expected one", () =>
    expectEngineError(() => toFloat32Matrix([[1, 2]], "x", 3), "x[0]", /must have 3 values/));
  it("rejects a label that is not a class index", () =>
    expectEngineError(() => toInt32Labels([0, 1.5]), "labels[1]", /class index/));
  it("rejects a label out of range", () =>
    expectEngineError(() => toInt32Labels([0, 3], "labels", 3), "labels[1]", /below 3/));
  it("rejects targets with a different number of rows", () =>
    expectEngineError(
      () => datasetFromArrays({ inputs: [[1], [2]], targets: [[1]] }),
      "data.targets",
      /one row per input row \(2\), got 1/,
    ));
});

describe("fit and evaluate reject bad data and options, naming the field", () => {
  const net = () => createNetwork(OK, { seed: 1 });
  const data = { inputs: new Float32Array([0, 1, 1, 0]), rows: 2, labels: new Int32Array([0, 1]) };
  const options: TrainOptions = {
    loss: "sparseCategoricalCrossentropy",
    optimizer: { name: "sgd" },
    epochs: 1,
    batchSize: 2,
  };
  const table: [
    string,
    unknown,
    Partial<TrainOptions> | Record<string, unknown>,
    string,
    RegExp,
  ][] = [
    [
      "inputs of the wrong length",
      { ...data, inputs: new Float32Array(3) },
      {},
      "data.inputs",
      /2 × 2 = 4 values/,
    ],
    [
      "a NaN input",
      { ...data, inputs: new Float32Array([0, 1, Number.NaN, 0]) },
      {},
      "data.inputs[1][0]",
      /finite/,
    ],
    [
      "inputs as a plain array",
      { ...data, inputs: [0, 1, 1, 0] },
      {},
      "data.inputs",
      /Float32Array/,
    ],
    ["zero rows", { ...data, rows: 0 }, {}, "data.rows", />= 1/],
    [
      "a label out of range",
      { ...data, labels: new Int32Array([0, 2]) },
      {},
      "data.labels[1]",
      /below 2/,
    ],
    [
      "missing labels for the sparse loss",
      { inputs: data.inputs, rows: 2 },
      {},
      "data.labels",
      /class indices/,
    ],
    [
      "targets whose width does not match the output layer",
      { inputs: data.inputs, rows: 2, targets: new Float32Array(6) },
      { loss: "categoricalCrossentropy" },
      "data.targets",
      /2 × 2 = 4 values \(the network has 2 outputs\), got 6/,
    ],
    [
      "a negative categorical target",
      { inputs: data.inputs, rows: 2, targets: new Float32Array([1, 0, -1, 2]) },
      { loss: "categoricalCrossentropy" },
      "data.targets[1][0]",
      />= 0/,
    ],
    ["an unknown loss", data, { loss: "hinge" }, "loss", /one of mse, mae/],
    ["zero epochs", data, { epochs: 0 }, "epochs", /between 1/],
    ["a fractional batch size", data, { batchSize: 1.5 }, "batchSize", /integer/],
    [
      "an unknown optimizer",
      data,
      { optimizer: { name: "adagrad" } },
      "optimizer.name",
      /one of sgd, momentum/,
    ],
    [
      "a negative learning rate",
      data,
      { optimizer: { name: "adam", learningRate: -1 } },
      "optimizer.learningRate",
      /> 0/,
    ],
    [
      "momentum of 1",
      data,
      { optimizer: { name: "momentum", momentum: 1 } },
      "optimizer.momentum",
      /< 1/,
    ],
    [
      "nesterov on adam",
      data,
      { optimizer: { name: "adam", nesterov: true } },
      "optimizer.nesterov",
      /momentum/,
    ],
    [
      "a zero clip norm",
      data,
      { optimizer: { name: "sgd", clipNorm: 0 } },
      "optimizer.clipNorm",
      /> 0/,
    ],
    [
      "an unknown decay type",
      data,
      { optimizer: { name: "sgd", decay: { type: "linear", rate: 0.5 } } },
      "optimizer.decay.type",
      /step, exponential, cosine, oneCycle/,
    ],
    [
      "a step decay without everyEpochs",
      data,
      { optimizer: { name: "sgd", decay: { type: "step", rate: 0.5 } } },
      "optimizer.decay.everyEpochs",
      /integer/,
    ],
    ["a validation split of 1", data, { validationSplit: 1 }, "validationSplit", /< 1/],
    [
      "a split leaving no validation rows",
      data,
      { validationSplit: 0.1 },
      "validationSplit",
      /leaves 0 for validation/,
    ],
    [
      "both validation split and data",
      data,
      { validationSplit: 0.5, validationData: data },
      "validationSplit",
      /either/,
    ],
    [
      "validation data of the wrong width",
      data,
      { validationData: { inputs: new Float32Array(3), rows: 1, labels: new Int32Array(1) } },
      "validationData.inputs",
      /1 × 2 = 2 values/,
    ],
    [
      "early stopping on valLoss without validation",
      data,
      { earlyStopping: { monitor: "valLoss", patience: 1 } },
      "earlyStopping.monitor",
      /validationSplit or validationData/,
    ],
    [
      "a negative patience",
      data,
      { earlyStopping: { patience: -1 } },
      "earlyStopping.patience",
      /between 0/,
    ],
    ["a non-function onEpoch", data, { onEpoch: 5 }, "onEpoch", /function/],
    ["a signal that is not an AbortSignal", data, { signal: {} }, "signal", /AbortSignal/],
  ];
  for (const [what, d, patch, field, message] of table) {
    it(`rejects ${what}`, () =>
      expectEngineErrorAsync(
        () => train(net(), d as never, { ...options, ...patch } as TrainOptions),
        field,
        message,
      ));
  }

  it("rejects binaryCrossentropy on a softmax output (the API's rule, held here once)", () =>
    expectEngineErrorAsync(
      () =>
        train(net(), { inputs: data.inputs, rows: 2, targets: new Float32Array([1, 0, 0, 1]) }, {
          ...options,
          loss: "binaryCrossentropy",
        } as TrainOptions),
      "loss",
      /binaryCrossentropy needs a sigmoid output layer; layers\[1\] is softmax/,
    ));

  it("rejects a cross-entropy on a non-softmax output", () => {
    const sig = createNetwork({ inputs: 2, layers: [{ units: 2, activation: "sigmoid" }] });
    return expectEngineErrorAsync(
      () => train(sig, data, options),
      "loss",
      /needs a softmax output layer; layers\[0\] is sigmoid/,
    );
  });

  it("rejects step inside a network trained by backpropagation", () => {
    const spec: NetworkSpec = {
      inputs: 2,
      layers: [
        { units: 2, activation: "step" },
        { units: 1, activation: "sigmoid" },
      ],
    };
    return expectEngineErrorAsync(
      () =>
        train(
          createNetwork(spec),
          { inputs: data.inputs, rows: 2, targets: new Float32Array([0, 1]) },
          {
            ...options,
            loss: "mse",
          },
        ),
      "layers[0].activation",
      /step has no gradient/,
    );
  });

  it("rejects evaluate with a loss that does not fit the data", () =>
    expectEngineError(
      () =>
        createNetwork({ inputs: 2, layers: [{ units: 2, activation: "sigmoid" }] }).evaluate(
          { inputs: data.inputs, rows: 2, targets: new Float32Array([0.5, 0.5, 2, 0]) },
          "binaryCrossentropy",
        ),
      "data.targets[1][0]",
      /between 0 and 1/,
    ));

  it("rejects predict inputs of the wrong length", () =>
    expectEngineError(() => net().predict(new Float32Array(5), 2), "inputs", /2 × 2 = 4 values/));
});
