/**
 * A trained version as an ONNX model (IR 7, opset 13; ai.onnx.ml 2 for categorical features).
 *
 * Without preprocessing the graph takes `input` float [N, inputs] and gives `output`
 * float [N, units], exactly what /predict computes; a classifier also gives `class` int64 [N]
 * (the class /predict reports). With preprocessing it takes raw features and applies the stored
 * contract (src/versions/preprocessing/schema.ts) before the network:
 *   - `numeric` double [N, numeric features]: the numeric features in their stored order,
 *     `(x - center) / scale` in double precision as encodeRows does, then cast to float; a NaN
 *     cell takes the feature's imputation when it has one;
 *   - one string input [N] per categorical feature (named as the feature): LabelEncoder to the
 *     category's index, then OneHot. ONNX cannot refuse a row, so a category not seen in
 *     training encodes as all zeros whatever the `unknown` policy (nnserve's /predict answers
 *     400 under `unknown: error`), and the empty string takes the imputed category if any;
 *   - a classifier adds `label` string [N] (the class decodeOutputs picks), a regressor `value`
 *     double [N, units] = center + scale * output, in the target's units.
 *
 * Each dense layer is one Gemm: the engine keeps W as [inputs × units] row-major, which is
 * Gemm's B [K, N] with transB = 0, so the weights are copied as they are stored.
 */
import {
  type ArchitectureJson,
  classifierKind,
  type LayerSpec,
  type LossName,
} from "../../engine/index.ts";
import { clipFactor, type FeatureTransform, type Preprocessing } from "../preprocessing/schema.ts";
import { GraphBuilder } from "./onnx-graph.ts";
import { DATA_TYPE, encodeModelProto } from "./onnx-proto.ts";

export const ONNX_IR_VERSION = 7;
export const ONNX_OPSET = 13;
export const ONNX_ML_OPSET = 2;
export const ONNX_ML_DOMAIN = "ai.onnx.ml";

/** Graph input and output names a client passes to or reads from onnxruntime. */
export const ONNX_NAMES = {
  input: "input",
  numeric: "numeric",
  output: "output",
  class: "class",
  label: "label",
  value: "value",
} as const;

const BATCH = "N";

export interface OnnxExportInput {
  model: string;
  version: number;
  architecture: ArchitectureJson;
  /** Little-endian float32, the engine's order (serialize.ts). */
  weights: Uint8Array;
  loss: LossName;
  preprocessing: Preprocessing | null;
  producerVersion: string;
}

export function exportOnnx(input: OnnxExportInput): Uint8Array {
  const { architecture, preprocessing } = input;
  const g = new GraphBuilder();
  const features = preprocessing ? encodeFeatures(g, preprocessing.features) : undefined;
  const x =
    features?.encoded ?? g.input(ONNX_NAMES.input, DATA_TYPE.FLOAT, [BATCH, architecture.inputs]);
  const y = dense(g, architecture, input.weights, x);
  const units = architecture.layers.at(-1)?.units ?? 0;
  g.node("Identity", [y], [], { output: ONNX_NAMES.output });
  g.output(ONNX_NAMES.output, DATA_TYPE.FLOAT, [BATCH, units]);

  const kind = classifierKind(architecture, input.loss);
  if (kind) {
    // /predict's classes: a binary classifier's output >= 0.5, else the first largest unit.
    const index = kind === "binary" ? thresholdIndex(g, "GreaterOrEqual", y) : argmax(g, y);
    g.node("Identity", [index], [], { output: ONNX_NAMES.class });
    g.output(ONNX_NAMES.class, DATA_TYPE.INT64, [BATCH]);
  }
  const target = preprocessing?.target;
  if (target?.type === "categorical") {
    // decodeOutputs: a one-unit output over two classes is P(classes[1]), above 0.5 wins;
    // otherwise the first largest unit, and a unit past the classes is named by its index.
    const index =
      units === 1 && target.classes.length === 2 ? thresholdIndex(g, "Greater", y) : argmax(g, y);
    const names = Array.from(
      { length: Math.max(units, target.classes.length) },
      (_, i) => target.classes[i] ?? String(i),
    );
    const classes = g.strings("classes", [names.length], names);
    g.node("Gather", [classes, index], [{ name: "axis", int: 0 }], { output: ONNX_NAMES.label });
    g.output(ONNX_NAMES.label, DATA_TYPE.STRING, [BATCH]);
  } else if (target?.type === "numeric") {
    const wide = g.node("Cast", [y], [{ name: "to", int: DATA_TYPE.DOUBLE }]);
    const scaled = g.node("Mul", [wide, g.doubles("target_scale", [], [target.scale])]);
    g.node("Add", [scaled, g.doubles("target_center", [], [target.center])], [], {
      output: ONNX_NAMES.value,
    });
    g.output(ONNX_NAMES.value, DATA_TYPE.DOUBLE, [BATCH, units]);
  }

  const usesMl = features?.categorical ?? false;
  return encodeModelProto({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [
      { domain: "", version: ONNX_OPSET },
      ...(usesMl ? [{ domain: ONNX_ML_DOMAIN, version: ONNX_ML_OPSET }] : []),
    ],
    producerName: "nnserve",
    producerVersion: input.producerVersion,
    domain: "dev.nnserve",
    modelVersion: input.version,
    docString: `nnserve model "${input.model}" version ${input.version}`,
    graph: {
      name: `${input.model}@${input.version}`,
      node: g.nodes,
      initializer: g.initializers,
      input: g.inputs,
      output: g.outputs,
    },
    metadataProps: metadata(input, features?.inputs),
  });
}

/** One Gemm per layer, then its activation; returns the last layer's output. */
function dense(
  g: GraphBuilder,
  architecture: ArchitectureJson,
  weights: Uint8Array,
  x: string,
): string {
  let fanIn = architecture.inputs;
  let offset = 0;
  let a = x;
  architecture.layers.forEach((layer: LayerSpec) => {
    const kernelBytes = fanIn * layer.units * 4;
    const w = g.floatBytes(
      "kernel",
      [fanIn, layer.units],
      weights.subarray(offset, offset + kernelBytes),
    );
    offset += kernelBytes;
    const b = g.floatBytes(
      "bias",
      [layer.units],
      weights.subarray(offset, offset + layer.units * 4),
    );
    offset += layer.units * 4;
    a = activation(g, layer, g.node("Gemm", [a, w, b]));
    fanIn = layer.units;
  });
  if (offset !== weights.byteLength) {
    throw new Error(`weights are ${weights.byteLength} bytes, the architecture needs ${offset}`);
  }
  return a;
}

/** The engine's activations (kernels.ts activate/softmaxRows) as ONNX operators. */
function activation(g: GraphBuilder, layer: LayerSpec, z: string): string {
  switch (layer.activation) {
    case "linear":
      return z;
    case "relu":
      return g.node("Relu", [z]);
    case "sigmoid":
      return g.node("Sigmoid", [z]);
    case "tanh":
      return g.node("Tanh", [z]);
    case "softmax":
      return g.node("Softmax", [z], [{ name: "axis", int: -1 }]);
    // z > 0 ? z : alpha*z, and ONNX's z >= 0 ? z : alpha*z agree at 0 (both give 0); same for elu.
    case "leakyRelu":
      return g.node("LeakyRelu", [z], [{ name: "alpha", float: layer.alpha ?? 0.01 }]);
    case "elu":
      return g.node("Elu", [z], [{ name: "alpha", float: layer.alpha ?? 1 }]);
    // The engine's step is z > 0 ? 1 : 0 (0 at 0 itself), so Greater, not GreaterOrEqual.
    case "step":
      return g.node(
        "Cast",
        [g.node("Greater", [z, g.floats("zero", [], [0])])],
        [{ name: "to", int: DATA_TYPE.FLOAT }],
      );
  }
}

/** A one-unit output against 0.5, as int64 [N] (0 or 1). */
function thresholdIndex(g: GraphBuilder, op: "Greater" | "GreaterOrEqual", y: string): string {
  const above = g.node(op, [y, g.floats("half", [], [0.5])]);
  const index = g.node("Cast", [above], [{ name: "to", int: DATA_TYPE.INT64 }]);
  return g.node("Reshape", [index, g.int64s("shape", [1], [-1])]);
}

/** The first largest unit of each row, int64 [N] (ArgMax keeps the first on a tie). */
function argmax(g: GraphBuilder, y: string): string {
  return g.node(
    "ArgMax",
    [y],
    [
      { name: "axis", int: 1 },
      { name: "keepdims", int: 0 },
    ],
  );
}

interface EncodedFeatures {
  /** float [N, encodedWidth], the network's input. */
  encoded: string;
  categorical: boolean;
  /** How the graph's inputs map to features, for the metadata. */
  inputs: Record<string, string | string[]>;
}

const RESERVED = new Set<string>(Object.values(ONNX_NAMES));

function encodeFeatures(g: GraphBuilder, features: readonly FeatureTransform[]): EncodedFeatures {
  const numeric = features.filter((f) => f.type === "numeric");
  const inputs: Record<string, string | string[]> = {};
  let standardized: string | undefined;
  if (numeric.length > 0) {
    inputs[ONNX_NAMES.numeric] = numeric.map((f) => f.name);
    let x = g.input(ONNX_NAMES.numeric, DATA_TYPE.DOUBLE, [BATCH, numeric.length]);
    const column = (what: string, value: (f: (typeof numeric)[number]) => number) =>
      g.doubles(what, [numeric.length], numeric.map(value));
    if (numeric.some((f) => f.impute !== undefined)) {
      // A feature without imputation keeps its NaN, which the network turns into NaN outputs.
      const fill = column("impute", (f) => f.impute ?? Number.NaN);
      x = g.node("Where", [g.node("IsNaN", [x]), fill, x]);
    }
    const centered = g.node("Sub", [x, column("center", (f) => f.center)]);
    let scaled = g.node("Div", [centered, column("scale", (f) => f.scale)]);
    if (numeric.some((f) => f.clip !== undefined)) {
      // smoothClip: z / sqrt(1 + z·z·k), k = 0 for a column without clipping (exactly z / 1).
      const k = column("clip_factor", (f) => (f.clip === undefined ? 0 : clipFactor(f.clip)));
      const squared = g.node("Mul", [scaled, scaled]);
      const one = g.doubles("one", [], [1]);
      const root = g.node("Sqrt", [g.node("Add", [one, g.node("Mul", [squared, k])])]);
      scaled = g.node("Div", [scaled, root]);
    }
    standardized = g.node("Cast", [scaled], [{ name: "to", int: DATA_TYPE.FLOAT }]);
  }
  if (numeric.length === features.length && standardized) {
    return { encoded: standardized, categorical: false, inputs };
  }

  const taken = new Set<string>(RESERVED);
  const columns: string[] = [];
  let numericIndex = 0;
  for (const feature of features) {
    if (feature.type === "numeric") {
      const index = g.int64s("column", [1], [numericIndex++]);
      columns.push(g.node("Gather", [standardized as string, index], [{ name: "axis", int: 1 }]));
      continue;
    }
    let name = feature.name;
    while (taken.has(name)) name = `${name}_input`;
    taken.add(name);
    inputs[name] = feature.name;
    g.input(name, DATA_TYPE.STRING, [BATCH]);
    const depth = feature.categories.length;
    const keys: string[] = [];
    const values: number[] = [];
    feature.categories.forEach((category, i) => {
      // encodeRows reads "" as a missing cell, never as a category.
      if (category !== "" && !keys.includes(category)) {
        keys.push(category);
        values.push(i);
      }
    });
    if (feature.impute !== undefined) {
      const imputed = feature.categories.indexOf(feature.impute);
      keys.push("");
      values.push(imputed >= 0 ? imputed : depth);
    }
    // `depth` is out of OneHot's range, so an unknown category is a row of zeros.
    const index = g.node(
      "LabelEncoder",
      [name],
      [
        { name: "keys_strings", strings: keys },
        { name: "values_int64s", ints: values },
        { name: "default_int64", int: depth },
      ],
      { domain: ONNX_ML_DOMAIN },
    );
    columns.push(
      g.node(
        "OneHot",
        [index, g.int64s("depth", [], [depth]), g.floats("off_on", [2], [0, 1])],
        [{ name: "axis", int: -1 }],
      ),
    );
  }
  const encoded =
    columns.length === 1
      ? (columns[0] as string)
      : g.node("Concat", columns, [{ name: "axis", int: 1 }]);
  return { encoded, categorical: true, inputs };
}

function metadata(input: OnnxExportInput, inputs: Record<string, string | string[]> | undefined) {
  const props: Record<string, string> = {
    "nnserve.model": input.model,
    "nnserve.version": String(input.version),
    "nnserve.loss": input.loss,
    "nnserve.architecture": JSON.stringify(input.architecture),
  };
  const { preprocessing } = input;
  if (preprocessing) {
    props.feature_names = JSON.stringify(preprocessing.features.map((f) => f.name));
    props.preprocessing = JSON.stringify(preprocessing);
    props["nnserve.inputs"] = JSON.stringify(inputs ?? {});
    props.target = preprocessing.target.name;
    if (preprocessing.target.type === "categorical") {
      props.class_labels = JSON.stringify(preprocessing.target.classes);
    }
  }
  return Object.entries(props).map(([key, value]) => ({ key, value }));
}
