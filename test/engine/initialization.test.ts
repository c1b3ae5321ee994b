import { describe, expect, it } from "vitest";
import { createNetwork, type InitializerName, saveNetwork } from "../../src/engine/index.ts";
import { Random } from "../../src/engine/random.ts";

function stats(values: Float32Array): { mean: number; std: number; maxAbs: number } {
  let sum = 0;
  let sq = 0;
  let maxAbs = 0;
  for (const v of values) {
    sum += v;
    sq += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(sq / values.length - mean * mean), maxAbs };
}

describe("initializers (PyTorch's formulas)", () => {
  const fanIn = 300;
  const fanOut = 200;
  const cases: [InitializerName, number, number | undefined][] = [
    // name, expected standard deviation, uniform bound
    ["glorotUniform", Math.sqrt(2 / (fanIn + fanOut)), Math.sqrt(6 / (fanIn + fanOut))],
    ["glorotNormal", Math.sqrt(2 / (fanIn + fanOut)), undefined],
    ["heUniform", Math.sqrt(2 / fanIn), Math.sqrt(6 / fanIn)],
    ["heNormal", Math.sqrt(2 / fanIn), undefined],
  ];
  for (const [initializer, std, bound] of cases) {
    it(`${initializer} draws weights with the expected spread and zero biases`, () => {
      const net = createNetwork({
        inputs: fanIn,
        layers: [{ units: fanOut, activation: "linear", initializer }],
      });
      const [w, b] = net.getWeights();
      const s = stats(w!);
      expect(Math.abs(s.mean)).toBeLessThan(std * 0.02);
      expect(s.std / std).toBeGreaterThan(0.98);
      expect(s.std / std).toBeLessThan(1.02);
      if (bound !== undefined) expect(s.maxAbs).toBeLessThanOrEqual(bound);
      else expect(s.maxAbs).toBeGreaterThan(3 * std); // a normal's tails, not a uniform's edge
      expect(b!.every((v) => v === 0)).toBe(true);
    });
  }

  it("torchLinear draws weights and biases from U(±1/√fanIn), as torch.nn.Linear does", () => {
    const net = createNetwork({
      inputs: fanIn,
      layers: [
        { units: fanOut, activation: "relu", initializer: "torchLinear" },
        { units: 1000, activation: "linear", initializer: "torchLinear" },
      ],
    });
    const [w0, b0, w1, b1] = net.getWeights();
    for (const [values, fan] of [
      [w0!, fanIn],
      [b0!, fanIn],
      [w1!, fanOut],
      [b1!, fanOut],
    ] as const) {
      const bound = 1 / Math.sqrt(fan);
      const s = stats(values);
      expect(s.maxAbs).toBeLessThanOrEqual(bound);
      expect(s.maxAbs).toBeGreaterThan(0.95 * bound);
      expect(s.std / (bound / Math.sqrt(3))).toBeGreaterThan(0.9);
      expect(s.std / (bound / Math.sqrt(3))).toBeLessThan(1.1);
    }
  });

  it("zeros gives all-zero weights", () => {
    const net = createNetwork({
      inputs: 4,
      layers: [{ units: 3, activation: "sigmoid", initializer: "zeros" }],
    });
    expect(net.getWeights().every((t) => t.every((v) => v === 0))).toBe(true);
  });

  it("defaults to He for the relu family and Glorot otherwise", () => {
    const net = createNetwork({
      inputs: 2,
      layers: [
        { units: 2, activation: "relu" },
        { units: 2, activation: "elu" },
        { units: 2, activation: "tanh" },
        { units: 1, activation: "step" },
      ],
    });
    expect(net.spec.layers.map((l) => l.initializer)).toEqual([
      "heUniform",
      "heUniform",
      "glorotUniform",
      "zeros",
    ]);
  });
});

describe("the seeded generator", () => {
  // Pinned values: if these change, saved seeds no longer reproduce old networks on this or any
  // other machine (the generator uses only 32-bit integer arithmetic and V8's own Math.log/cos).
  it("produces the same stream for the same seed, everywhere", () => {
    const r = new Random(0);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([
      3809008728, 1133695204, 53579671,
    ]);
    expect(r.normal()).toBe(1.4645547650533814);
    expect(new Random(12345).uniform()).toBe(0.12076167785562575);
  });

  it("gives bit-identical initial weights for a seed (pinned)", () => {
    const net = createNetwork(
      {
        inputs: 3,
        layers: [
          { units: 2, activation: "tanh", initializer: "glorotNormal" },
          { units: 1, activation: "relu", initializer: "heUniform" },
        ],
      },
      { seed: 42 },
    );
    const words = Array.from(new Uint32Array(saveNetwork(net).weights.buffer), (x) =>
      x.toString(16),
    );
    expect(words.join(",")).toBe(
      "3f264f14,3dfa279f,3e81aa6c,bbcc5c42,bf178af4,becb7eca,0,0,3fcfe744,3fc3af14,0",
    );
  });

  it("shuffles into a permutation", () => {
    const order = Int32Array.from({ length: 100 }, (_, i) => i);
    new Random(3).shuffle(order);
    expect(Array.from(order).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
    expect(Array.from(order)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("draws uniforms in [0, 1) and normals with mean 0 and deviation 1", () => {
    const r = new Random(9);
    let sum = 0;
    let sq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(sq / n) - 1)).toBeLessThan(0.03);
  });
});
