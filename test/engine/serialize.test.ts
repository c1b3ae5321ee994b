import { describe, expect, it } from "vitest";
import {
  createNetwork,
  loadNetwork,
  type NetworkSpec,
  saveNetwork,
  fit as train,
} from "../../src/engine/index.ts";
import { expectEngineError, XOR } from "./helpers.ts";

const SPEC: NetworkSpec = {
  inputs: 2,
  layers: [
    { units: 5, activation: "leakyRelu", alpha: 0.2 },
    { units: 3, activation: "elu" },
    { units: 1, activation: "sigmoid", initializer: "glorotNormal" },
  ],
};

async function trained() {
  const net = createNetwork(SPEC, { seed: 9 });
  await train(net, XOR, {
    loss: "binaryCrossentropy",
    optimizer: { name: "adam" },
    epochs: 5,
    batchSize: 2,
  });
  return net;
}

describe("saving and loading a network", () => {
  it("round-trips exactly: same spec, same bits, same predictions", async () => {
    const net = await trained();
    const saved = saveNetwork(net);
    expect(saved.architecture).toMatchObject({ format: "nnserve.network", version: 1, inputs: 2 });
    expect(saved.weights.byteLength).toBe(net.parameterCount * 4);
    const json = JSON.parse(JSON.stringify(saved.architecture));
    const loaded = loadNetwork(json, saved.weights);
    expect(loaded.spec).toEqual(net.spec);
    expect(saveNetwork(loaded).weights).toEqual(saved.weights);
    expect(loaded.predict(XOR.inputs, 4)).toEqual(net.predict(XOR.inputs, 4));
  });

  it("writes little-endian float32, kernel then bias, layer by layer", () => {
    const net = createNetwork({ inputs: 1, layers: [{ units: 1, activation: "linear" }] });
    net.setWeights([new Float32Array([1.5]), new Float32Array([-2])]);
    expect(Array.from(saveNetwork(net).weights)).toEqual([0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]);
  });

  it("loads from a Node Buffer that is a view into a larger pool", async () => {
    const saved = saveNetwork(await trained());
    const pool = Buffer.alloc(saved.weights.byteLength + 7);
    pool.set(saved.weights, 3);
    const view = pool.subarray(3, 3 + saved.weights.byteLength);
    expect(loadNetwork(saved.architecture, view).predict(XOR.inputs, 4)).toEqual(
      loadNetwork(saved.architecture, saved.weights).predict(XOR.inputs, 4),
    );
  });

  const good = () => saveNetwork(createNetwork(SPEC));
  const table: [string, (s: ReturnType<typeof good>) => [unknown, unknown], string, RegExp][] = [
    [
      "weights that are too short",
      (s) => [s.architecture, s.weights.subarray(4)],
      "weights",
      /must be \d+ bytes .* got \d+/,
    ],
    [
      "weights that are too long",
      (s) => [s.architecture, new Uint8Array(s.weights.byteLength + 4)],
      "weights",
      /must be 148 bytes \(37 float32 parameters for this architecture\), got 152/,
    ],
    ["weights that are not bytes", (s) => [s.architecture, [1, 2]], "weights", /Uint8Array/],
    [
      "an unknown format",
      (s) => [{ ...s.architecture, format: "keras" }, s.weights],
      "architecture.format",
      /nnserve.network/,
    ],
    [
      "a newer version",
      (s) => [{ ...s.architecture, version: 2 }, s.weights],
      "architecture.version",
      /unsupported version 2/,
    ],
    ["an architecture that is not an object", (s) => ["x", s.weights], "architecture", /object/],
    [
      "a layer with zero units",
      (s) => [{ ...s.architecture, layers: [{ units: 0, activation: "relu" }] }, s.weights],
      "architecture.layers[0].units",
      /between 1/,
    ],
    [
      "a parameter count that disagrees with the layers",
      (s) => [{ ...s.architecture, parameterCount: 36 }, s.weights],
      "architecture.parameterCount",
      /describe 37 parameters/,
    ],
    [
      "a NaN among the weights",
      (s) => {
        const w = s.weights.slice();
        new DataView(w.buffer).setFloat32(8, Number.NaN, true);
        return [s.architecture, w];
      },
      "weights",
      /layer 0 kernel value 2 \(byte 8\) is not finite/,
    ],
  ];
  for (const [what, mutate, field, message] of table) {
    it(`rejects ${what}`, () => {
      const [architecture, weights] = mutate(good());
      expectEngineError(() => loadNetwork(architecture, weights as Uint8Array), field, message);
    });
  }

  it("rejects setWeights with a wrong size, naming the tensor", () => {
    const net = createNetwork(SPEC);
    const w = net.getWeights();
    w[2] = new Float32Array(3);
    expectEngineError(
      () => net.setWeights(w),
      "weights[2]",
      /Float32Array of 15 values \(layer 1\)/,
    );
  });
});
