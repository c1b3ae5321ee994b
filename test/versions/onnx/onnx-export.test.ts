/**
 * The ONNX exporter against the engine itself, no database: every activation the engine has, run
 * in onnxruntime, equals the engine's forward pass; the file is well-formed (IR, opsets,
 * producer, symbolic batch, metadata). The service-level tests (test/e2e/export.test.ts) compare
 * with /predict on trained models.
 */
import { describe, expect, it } from "vitest";
import {
  ACTIVATIONS,
  createNetwork,
  type NetworkSpec,
  saveNetwork,
} from "../../../src/engine/index.ts";
import { exportOnnx } from "../../../src/versions/onnx/onnx-export.ts";
import { decodeModelProto } from "../../../src/versions/onnx/onnx-proto.ts";
import { decodeOutputs } from "../../../src/versions/preprocessing/decode.ts";
import { encodeRows, type RawRow } from "../../../src/versions/preprocessing/encode.ts";
import { encodedWidth, type Preprocessing } from "../../../src/versions/preprocessing/schema.ts";
import { doubleInput, floatInput, maxAbsDiff, runOnnx, stringInput } from "./onnx-helpers.ts";

const ROWS = [
  [0, 0, 0],
  [1, -2, 0.5],
  [-3, 0.25, 2],
  [0.1, 0.2, -0.3],
  [5, 5, -5],
];

function exported(spec: NetworkSpec, seed = 3) {
  const network = createNetwork(spec, { seed });
  const { architecture, weights } = saveNetwork(network);
  const file = exportOnnx({
    model: "m",
    version: 1,
    architecture,
    weights,
    loss: spec.layers.at(-1)?.activation === "softmax" ? "categoricalCrossentropy" : "mse",
    preprocessing: null,
    producerVersion: "0.1.0",
  });
  const expected = network.predict(Float32Array.from(ROWS.flat()), ROWS.length);
  return { file, expected };
}

describe("ONNX export of a network", () => {
  for (const activation of ACTIVATIONS) {
    it(`runs ${activation} in onnxruntime as the engine does`, async () => {
      const hidden = activation === "softmax" ? "tanh" : activation;
      const spec: NetworkSpec = {
        inputs: 3,
        layers: [
          // zeros (step's default initializer) would give every row the same output
          { units: 4, activation: hidden, initializer: "heUniform" },
          { units: 3, activation, initializer: "glorotUniform" },
        ],
      };
      if (activation === "leakyRelu" || activation === "elu") {
        spec.layers[0]!.alpha = 0.3;
        spec.layers[1]!.alpha = 0.7;
      }
      const { file, expected } = exported(spec);
      const { output } = await runOnnx(file, { input: floatInput(ROWS) });
      expect(output!.dims).toEqual([ROWS.length, 3]);
      expect(maxAbsDiff(output!.data as Float32Array, expected)).toBeLessThan(1e-5);
    });
  }

  it("says which IR, opset and producer it is, with a symbolic batch dimension", () => {
    const { file } = exported({ inputs: 3, layers: [{ units: 2, activation: "softmax" }] });
    const model = decodeModelProto(file) as {
      irVersion: number;
      opsetImport: { domain?: string; version: number }[];
      producerName: string;
      producerVersion: string;
      graph: { input: { name: string; type: { tensorType: { shape: { dim: unknown[] } } } }[] };
      metadataProps: { key: string; value: string }[];
    };
    expect(model.irVersion).toBe(7);
    expect(model.opsetImport).toEqual([{ domain: "", version: 13 }]);
    expect(model.producerName).toBe("nnserve");
    expect(model.producerVersion).toBe("0.1.0");
    expect(model.graph.input[0]!.name).toBe("input");
    expect(model.graph.input[0]!.type.tensorType.shape.dim).toEqual([
      { dimParam: "N" },
      { dimValue: 3 },
    ]);
    const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
    expect(meta["nnserve.model"]).toBe("m");
    expect(JSON.parse(meta["nnserve.architecture"]!)).toMatchObject({ inputs: 3 });
  });

  it("adds the class of each row for a classifier, as /predict reports it", async () => {
    const { file, expected } = exported({
      inputs: 3,
      layers: [
        { units: 5, activation: "relu" },
        { units: 4, activation: "softmax" },
      ],
    });
    const out = await runOnnx(file, { input: floatInput(ROWS) });
    const classes = ROWS.map((_, r) => {
      const row = Array.from(expected.subarray(r * 4, r * 4 + 4));
      return row.indexOf(Math.max(...row));
    });
    expect(Array.from(out.class!.data as BigInt64Array, Number)).toEqual(classes);
  });
});

const FEATURES: Preprocessing["features"] = [
  { name: "age", type: "numeric", scaling: "standard", center: 41.5, scale: 12.25, impute: 40 },
  {
    name: "color",
    type: "categorical",
    categories: ["red", "green", "blue"],
    unknown: "zeros",
    impute: "green",
  },
  { name: "income", type: "numeric", scaling: "minmax", center: 1000, scale: 99000 },
  { name: "size", type: "categorical", categories: ["s", "m"], unknown: "error" },
];

/** Raw rows by name, and the same as ONNX feeds: numeric columns in order, one string per category. */
const RAW: { age: number | null; color: string; income: number; size: string }[] = [
  { age: 30, color: "red", income: 52000, size: "s" },
  { age: 65.5, color: "blue", income: 1000, size: "m" },
  { age: null, color: "", income: 100000, size: "m" },
  { age: 18, color: "green", income: 23456.78, size: "s" },
];

function feeds(rows: typeof RAW) {
  return {
    numeric: doubleInput(rows.map((r) => [r.age ?? Number.NaN, r.income])),
    color: stringInput(rows.map((r) => r.color)),
    size: stringInput(rows.map((r) => r.size)),
  };
}

function withPreprocessing(
  preprocessing: Preprocessing,
  spec: Omit<NetworkSpec, "inputs">,
  loss: "categoricalCrossentropy" | "mse",
) {
  const network = createNetwork(
    { inputs: encodedWidth(preprocessing.features), ...spec },
    { seed: 11 },
  );
  const { architecture, weights } = saveNetwork(network);
  const file = exportOnnx({
    model: "p",
    version: 2,
    architecture,
    weights,
    loss,
    preprocessing,
    producerVersion: "0.1.0",
  });
  const x = encodeRows(preprocessing, RAW as unknown as RawRow[]);
  const units = network.outputs;
  const y = network.predict(x, RAW.length);
  return { file, y, units };
}

/**
 * A one-layer network on the two numeric features (age, income) with `target`, exported and run
 * in onnxruntime on RAW's numbers; with the engine's outputs on the same rows, encoded.
 */
async function numericOnly(
  target: Preprocessing["target"],
  layer: NetworkSpec["layers"][number],
  loss: "mse" | "binaryCrossentropy",
  seed: number,
) {
  const preprocessing: Preprocessing = {
    formatVersion: 1,
    features: [FEATURES[0]!, FEATURES[2]!],
    target,
  };
  const network = createNetwork({ inputs: 2, layers: [layer] }, { seed });
  const { architecture, weights } = saveNetwork(network);
  const file = exportOnnx({
    model: "n",
    version: 1,
    architecture,
    weights,
    loss,
    preprocessing,
    producerVersion: "x",
  });
  const rows = RAW.map((r) => ({ age: r.age, income: r.income }));
  const y = network.predict(encodeRows(preprocessing, rows), rows.length);
  const out = await runOnnx(file, {
    numeric: doubleInput(rows.map((r) => [r.age ?? Number.NaN, r.income])),
  });
  return { preprocessing, y, out };
}

describe("ONNX export with preprocessing", () => {
  it("a classifier predicts from raw features: outputs as the engine on encodeRows, labels as decodeOutputs", async () => {
    const preprocessing: Preprocessing = {
      formatVersion: 1,
      features: FEATURES,
      target: { name: "kind", type: "categorical", classes: ["cat", "dog", "eel"] },
    };
    const { file, y, units } = withPreprocessing(
      preprocessing,
      {
        layers: [
          { units: 6, activation: "relu" },
          { units: 3, activation: "softmax" },
        ],
      },
      "categoricalCrossentropy",
    );
    const out = await runOnnx(file, feeds(RAW));
    expect(maxAbsDiff(out.output!.data as Float32Array, y)).toBeLessThan(1e-5);
    const labels = decodeOutputs(preprocessing, y, units).map((p) => ("label" in p ? p.label : ""));
    expect(out.label!.data).toEqual(labels);
  });

  it("a regressor gives the value in the target's units, as decodeOutputs", async () => {
    const preprocessing: Preprocessing = {
      formatVersion: 1,
      features: FEATURES,
      target: { name: "price", type: "numeric", center: 250000, scale: 80000 },
    };
    const { file, y, units } = withPreprocessing(
      preprocessing,
      {
        layers: [
          { units: 5, activation: "tanh" },
          { units: 1, activation: "linear" },
        ],
      },
      "mse",
    );
    const out = await runOnnx(file, feeds(RAW));
    const values = decodeOutputs(preprocessing, y, units).map((p) =>
      "value" in p ? p.value : NaN,
    );
    expect(out.value!.dims).toEqual([RAW.length, 1]);
    // Relative: the values are in the hundreds of thousands.
    expect(maxAbsDiff(out.value!.data as Float64Array, values) / 250000).toBeLessThan(1e-5);
  });

  it("numeric features only: one double input, standardised with Sub and Div", async () => {
    const { y, out } = await numericOnly(
      { name: "price", type: "numeric", center: 0, scale: 1 },
      { units: 2, activation: "linear" },
      "mse",
      5,
    );
    expect(maxAbsDiff(out.output!.data as Float32Array, y)).toBeLessThan(1e-5);
  });

  it("encodes a category not seen in training as zeros (ONNX cannot refuse a row)", async () => {
    const preprocessing: Preprocessing = {
      formatVersion: 1,
      features: FEATURES,
      target: { name: "kind", type: "categorical", classes: ["cat", "dog", "eel"] },
    };
    const { file } = withPreprocessing(
      preprocessing,
      { layers: [{ units: 3, activation: "softmax" }] },
      "categoricalCrossentropy",
    );
    const network = createNetwork(
      { inputs: encodedWidth(FEATURES), layers: [{ units: 3, activation: "softmax" }] },
      { seed: 11 },
    );
    const unknown = [{ ...RAW[0]!, color: "purple" }];
    const zeros = encodeRows(
      {
        ...preprocessing,
        features: FEATURES.map((f) =>
          f.type === "categorical" ? { ...f, unknown: "zeros" as const } : f,
        ),
      },
      unknown as unknown as RawRow[],
    );
    const out = await runOnnx(file, feeds(unknown));
    expect(maxAbsDiff(out.output!.data as Float32Array, network.predict(zeros, 1))).toBeLessThan(
      1e-5,
    );
  });

  it("a one-unit classifier over two classes labels by P(classes[1]) > 0.5, as decodeOutputs", async () => {
    const { preprocessing, y, out } = await numericOnly(
      { name: "spam", type: "categorical", classes: ["ham", "spam"] },
      { units: 1, activation: "sigmoid", initializer: "heUniform" },
      "binaryCrossentropy",
      8,
    );
    const labels = decodeOutputs(preprocessing, y, 1).map((p) => ("label" in p ? p.label : ""));
    expect(new Set(labels).size).toBe(2);
    expect(out.label!.data).toEqual(labels);
    // The /predict class of a binary classifier: output >= 0.5.
    expect(Array.from(out.class!.data as BigInt64Array, Number)).toEqual(
      Array.from(y, (p) => (p >= 0.5 ? 1 : 0)),
    );
  });

  it("renames a categorical input whose feature name is one of the graph's own names", async () => {
    const preprocessing: Preprocessing = {
      formatVersion: 1,
      features: [
        { name: "numeric", type: "categorical", categories: ["a", "b"], unknown: "zeros" },
        { name: "x", type: "numeric", scaling: "none", center: 0, scale: 1 },
      ],
      target: { name: "y", type: "numeric", center: 0, scale: 1 },
    };
    const network = createNetwork(
      { inputs: 3, layers: [{ units: 1, activation: "linear" }] },
      { seed: 2 },
    );
    const { architecture, weights } = saveNetwork(network);
    const file = exportOnnx({
      model: "r",
      version: 1,
      architecture,
      weights,
      loss: "mse",
      preprocessing,
      producerVersion: "x",
    });
    const model = decodeModelProto(file) as {
      graph: { input: { name: string }[] };
      metadataProps: { key: string; value: string }[];
    };
    expect(model.graph.input.map((i) => i.name)).toEqual(["numeric", "numeric_input"]);
    const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta["nnserve.inputs"]!)).toEqual({
      numeric: ["x"],
      numeric_input: "numeric",
    });
    const rows = [{ numeric: "b", x: 2.5 }];
    const y = network.predict(encodeRows(preprocessing, rows), 1);
    const out = await runOnnx(file, {
      numeric: doubleInput([[2.5]]),
      numeric_input: stringInput(["b"]),
    });
    expect(maxAbsDiff(out.output!.data as Float32Array, y)).toBeLessThan(1e-5);
  });
});
