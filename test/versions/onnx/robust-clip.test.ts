/**
 * Robust scaling with smooth clipping through the ONNX export: the graph's double-precision
 * Sub, Div, Mul, Add, Sqrt, Div give exactly what encodeRows gives (identity network, so the
 * outputs are the encoded features), for a clipped and an unclipped column side by side.
 */
import { describe, expect, it } from "vitest";
import { createNetwork, saveNetwork } from "../../../src/engine/index.ts";
import { exportOnnx } from "../../../src/versions/onnx/onnx-export.ts";
import { encodeRows } from "../../../src/versions/preprocessing/encode.ts";
import { type Preprocessing, smoothClip } from "../../../src/versions/preprocessing/schema.ts";
import { doubleInput, runOnnx } from "./onnx-helpers.ts";

describe("robust scaling and smooth clipping in ONNX", () => {
  it("encodes as encodeRows does, bit for bit, outliers included", async () => {
    const preprocessing: Preprocessing = {
      formatVersion: 1,
      features: [
        { name: "a", type: "numeric", scaling: "robust", center: 2.5, scale: 1.75, clip: 3 },
        { name: "b", type: "numeric", scaling: "robust", center: -1, scale: 0.3 },
      ],
      target: { name: "y", type: "numeric", center: 0, scale: 1 },
    };
    const network = createNetwork({ inputs: 2, layers: [{ units: 2, activation: "linear" }] });
    network.setWeights([new Float32Array([1, 0, 0, 1]), new Float32Array(2)]);
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
    const rows = [
      [2.5, -1],
      [3, 0],
      [1e6, 7],
      [-4321.5, -3],
      [0.001, 123.456],
    ];
    const encoded = encodeRows(
      preprocessing,
      rows.map(([a, b]) => ({ a: a!, b: b! })),
    );
    // The clipped column stays within ±3, the other is the plain robust z.
    expect(Math.abs(encoded[4]!)).toBeLessThanOrEqual(3);
    expect(encoded[4]).toBe(Math.fround(smoothClip((1e6 - 2.5) / 1.75, 3)));
    expect(encoded[5]).toBe(Math.fround((7 + 1) / 0.3));
    const out = await runOnnx(file, { numeric: doubleInput(rows) });
    const onnx = out.output!.data as Float32Array;
    expect(Array.from(onnx)).toEqual(Array.from(network.predict(encoded, rows.length)));
    expect(Array.from(onnx)).toEqual(Array.from(encoded));
  });
});
