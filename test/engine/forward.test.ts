import { describe, expect, it } from "vitest";
import { createNetwork } from "../../src/engine/index.ts";
import type { ActivationName } from "../../src/engine/spec.ts";

/** A 1→1 network with weight 1 and bias 0: its output is the activation itself. */
function identityNeuron(activation: ActivationName, alpha?: number) {
  const net = createNetwork({ inputs: 1, layers: [{ units: 1, activation, alpha }] });
  net.setWeights([new Float32Array([1]), new Float32Array([0])]);
  return net;
}

const Z = [-2, -0.5, 0, 0.5, 2];

describe("activations compute their textbook formulas", () => {
  const cases: [ActivationName, number | undefined, (z: number) => number][] = [
    ["linear", undefined, (z) => z],
    ["step", undefined, (z) => (z > 0 ? 1 : 0)],
    ["sigmoid", undefined, (z) => 1 / (1 + Math.exp(-z))],
    ["tanh", undefined, Math.tanh],
    ["relu", undefined, (z) => Math.max(0, z)],
    ["leakyRelu", 0.1, (z) => (z > 0 ? z : 0.1 * z)],
    ["leakyRelu", undefined, (z) => (z > 0 ? z : 0.01 * z)],
    ["elu", 1.5, (z) => (z > 0 ? z : 1.5 * (Math.exp(z) - 1))],
  ];
  for (const [name, alpha, f] of cases) {
    it(`${name}${alpha === undefined ? "" : ` (alpha ${alpha})`}`, () => {
      const out = identityNeuron(name, alpha).predict(new Float32Array(Z), Z.length);
      Z.forEach((z, i) => {
        expect(out[i]).toBeCloseTo(f(z), 6);
      });
    });
  }

  it("softmax turns logits 0, ln 2, ln 3 into 1/6, 2/6, 3/6", () => {
    const net = createNetwork({ inputs: 3, layers: [{ units: 3, activation: "softmax" }] });
    net.setWeights([new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]), new Float32Array(3)]);
    const out = net.predict(new Float32Array([0, Math.log(2), Math.log(3)]), 1);
    expect(Array.from(out).map((v) => +v.toFixed(6))).toEqual([0.166667, 0.333333, 0.5]);
  });

  it("softmax stays finite for huge logits", () => {
    const net = createNetwork({ inputs: 2, layers: [{ units: 2, activation: "softmax" }] });
    net.setWeights([new Float32Array([1, 0, 0, 1]), new Float32Array(2)]);
    const out = net.predict(new Float32Array([1000, 0]), 1);
    expect(Array.from(out)).toEqual([1, 0]);
  });
});

describe("a dense network's forward pass", () => {
  it("matches a hand computation through a relu hidden layer", () => {
    // x = [1, 2]; hidden z = [1·1 + 2·2 + 0.5, 1·(−1) + 2·0.5 − 1] = [5.5, −1] → relu [5.5, 0];
    // output = 5.5·2 + 0·(−3) + 0.25 = 11.25.
    const net = createNetwork({
      inputs: 2,
      layers: [
        { units: 2, activation: "relu" },
        { units: 1, activation: "linear" },
      ],
    });
    net.setWeights([
      new Float32Array([1, -1, 2, 0.5]),
      new Float32Array([0.5, -1]),
      new Float32Array([2, -3]),
      new Float32Array([0.25]),
    ]);
    expect(Array.from(net.predict(new Float32Array([1, 2]), 1))).toEqual([11.25]);
  });

  it("predicts many rows at once, row-major, the same as one at a time", () => {
    const net = createNetwork(
      {
        inputs: 5,
        layers: [
          { units: 7, activation: "tanh" },
          { units: 3, activation: "softmax" },
        ],
      },
      { seed: 3 },
    );
    const rows = 300; // more than one 256-row chunk
    const x = new Float32Array(rows * 5).map((_, i) => Math.sin(i));
    const all = net.predict(x, rows);
    expect(all.length).toBe(rows * 3);
    for (const r of [0, 1, 255, 256, 299]) {
      const one = net.predict(x.slice(r * 5, r * 5 + 5), 1);
      for (let j = 0; j < 3; j++) expect(all[r * 3 + j]).toBeCloseTo(one[j]!, 6);
    }
  });

  it("returns an empty result for zero rows", () => {
    const net = createNetwork({ inputs: 2, layers: [{ units: 1, activation: "linear" }] });
    expect(net.predict(new Float32Array(0), 0).length).toBe(0);
  });

  it("counts parameters and reports its shape", () => {
    const net = createNetwork({
      inputs: 784,
      layers: [
        { units: 256, activation: "relu" },
        { units: 128, activation: "relu" },
        { units: 10, activation: "softmax" },
      ],
    });
    expect(net.parameterCount).toBe(785 * 256 + 257 * 128 + 129 * 10);
    expect(net.inputs).toBe(784);
    expect(net.outputs).toBe(10);
  });

  it("spells out defaults in its spec (alpha, initializer)", () => {
    const net = createNetwork({
      inputs: 2,
      layers: [
        { units: 3, activation: "leakyRelu" },
        { units: 1, activation: "sigmoid" },
      ],
    });
    expect(net.spec).toEqual({
      inputs: 2,
      layers: [
        { units: 3, activation: "leakyRelu", alpha: 0.01, initializer: "heUniform" },
        { units: 1, activation: "sigmoid", initializer: "glorotUniform" },
      ],
    });
  });
});
