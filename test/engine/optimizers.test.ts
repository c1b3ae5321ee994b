import { describe, expect, it } from "vitest";
import {
  createNetwork,
  type OptimizerSpec,
  resolveOptimizer,
  fit as train,
} from "../../src/engine/index.ts";
import { linearData } from "./helpers.ts";

/**
 * One linear neuron, w = 0.5, b = 0.1, one sample x = 2, t = 1, mse:
 * a = 1.1, dL/da = 2(a − t) = 0.2, so gW = 0.4 and gb = 0.2.
 */
async function firstStep(optimizer: OptimizerSpec, epochs = 1): Promise<[number, number]> {
  const net = createNetwork({ inputs: 1, layers: [{ units: 1, activation: "linear" }] });
  net.setWeights([new Float32Array([0.5]), new Float32Array([0.1])]);
  await train(
    net,
    { inputs: new Float32Array([2]), rows: 1, targets: new Float32Array([1]) },
    {
      loss: "mse",
      optimizer,
      epochs,
      batchSize: 1,
    },
  );
  const [w, b] = net.getWeights();
  return [w![0]!, b![0]!];
}

const GW = 0.4;
const GB = 0.2;

describe("each optimizer's first step matches the hand computation (PyTorch's rules)", () => {
  it("sgd: p −= lr·g", async () => {
    const [w, b] = await firstStep({ name: "sgd", learningRate: 0.1 });
    expect(w).toBeCloseTo(0.5 - 0.1 * GW, 6);
    expect(b).toBeCloseTo(0.1 - 0.1 * GB, 6);
  });

  it("sgd with weight decay adds wd·w to the weight's gradient, not the bias's", async () => {
    const [w, b] = await firstStep({ name: "sgd", learningRate: 0.1, weightDecay: 0.5 });
    expect(w).toBeCloseTo(0.5 - 0.1 * (GW + 0.5 * 0.5), 6);
    expect(b).toBeCloseTo(0.1 - 0.1 * GB, 6);
  });

  it("momentum: the first step is plain sgd (the buffer starts as the gradient)", async () => {
    const [w, b] = await firstStep({ name: "momentum", learningRate: 0.1 });
    expect(w).toBeCloseTo(0.5 - 0.1 * GW, 6);
    expect(b).toBeCloseTo(0.1 - 0.1 * GB, 6);
  });

  it("momentum: the second step adds μ times the first", async () => {
    const [w] = await firstStep({ name: "momentum", learningRate: 0.1, momentum: 0.9 }, 2);
    const w1 = 0.5 - 0.1 * GW;
    const b1 = 0.1 - 0.1 * GB;
    const g2 = 2 * (w1 * 2 + b1 - 1) * 2;
    expect(w).toBeCloseTo(w1 - 0.1 * (0.9 * GW + g2), 6);
  });

  it("nesterov: p −= lr·(g + μ·buf)", async () => {
    const [w, b] = await firstStep({
      name: "momentum",
      learningRate: 0.1,
      momentum: 0.9,
      nesterov: true,
    });
    expect(w).toBeCloseTo(0.5 - 0.1 * GW * 1.9, 6);
    expect(b).toBeCloseTo(0.1 - 0.1 * GB * 1.9, 6);
  });

  it("rmsprop: p −= lr·g/(√((1−ρ)g²) + ε) with ρ = 0.99 by default", async () => {
    const [w, b] = await firstStep({ name: "rmsprop", learningRate: 0.01 });
    expect(w).toBeCloseTo(0.5 - (0.01 * GW) / (Math.sqrt(0.01 * GW * GW) + 1e-8), 6);
    expect(b).toBeCloseTo(0.1 - (0.01 * GB) / (Math.sqrt(0.01 * GB * GB) + 1e-8), 6);
  });

  it("adam: bias correction makes the first step lr·g/(|g| + ε)", async () => {
    const [w, b] = await firstStep({ name: "adam", learningRate: 0.01 });
    expect(w).toBeCloseTo(0.5 - (0.01 * GW) / (GW + 1e-8), 6);
    expect(b).toBeCloseTo(0.1 - (0.01 * GB) / (GB + 1e-8), 6);
  });

  it("clipNorm scales the whole gradient to the given global norm", async () => {
    const norm = Math.hypot(GW, GB);
    const scale = 0.1 / (norm + 1e-6);
    const [w, b] = await firstStep({ name: "sgd", learningRate: 1, clipNorm: 0.1 });
    expect(w).toBeCloseTo(0.5 - GW * scale, 6);
    expect(b).toBeCloseTo(0.1 - GB * scale, 6);
  });

  it("clipNorm takes the norm over every layer's weights and biases (whole register tiles too)", async () => {
    // 16 and 8 units fill whole 8-column tiles, so the kernels' squares come from both paths.
    const net = createNetwork(
      {
        inputs: 12,
        layers: [
          { units: 16, activation: "relu" },
          { units: 8, activation: "linear" },
        ],
      },
      { seed: 3 },
    );
    const before = net.snapshotParameters();
    const rows = 6;
    const inputs = Float32Array.from({ length: rows * 12 }, (_, i) => Math.sin(i));
    const targets = Float32Array.from({ length: rows * 8 }, (_, i) => 3 * Math.cos(i));
    await train(
      net,
      { inputs, rows, targets },
      {
        loss: "mse",
        optimizer: { name: "sgd", learningRate: 1, clipNorm: 0.01 },
        epochs: 1,
        batchSize: rows,
      },
    );
    // One step of plain sgd with lr 1 moves the parameters by the clipped gradient itself.
    const after = net.snapshotParameters();
    let moved = 0;
    for (let i = 0; i < after.length; i++) moved += (after[i]! - before[i]!) ** 2;
    expect(Math.sqrt(moved)).toBeCloseTo(0.01, 5);
  });

  it("clipNorm leaves a gradient below the norm alone", async () => {
    const [w] = await firstStep({ name: "sgd", learningRate: 0.1, clipNorm: 10 });
    expect(w).toBeCloseTo(0.5 - 0.1 * GW, 6);
  });
});

describe("each optimizer reduces the loss on a small regression", () => {
  const optimizers: OptimizerSpec[] = [
    { name: "sgd", learningRate: 0.05 },
    { name: "momentum", learningRate: 0.02 },
    { name: "momentum", learningRate: 0.02, nesterov: true },
    { name: "rmsprop", learningRate: 0.005 },
    { name: "adam", learningRate: 0.01 },
    { name: "adam", learningRate: 0.01, weightDecay: 1e-4, clipNorm: 1 },
  ];
  for (const optimizer of optimizers) {
    it(`${JSON.stringify(optimizer)}`, async () => {
      const net = createNetwork(
        {
          inputs: 2,
          layers: [
            { units: 8, activation: "elu" },
            { units: 1, activation: "linear" },
          ],
        },
        { seed: 5 },
      );
      const data = linearData(128);
      const before = net.evaluate(data, "mse").loss;
      const result = await train(net, data, { loss: "mse", optimizer, epochs: 30, batchSize: 16 });
      expect(result.history.at(-1)!.loss).toBeLessThan(result.history[0]!.loss);
      expect(net.evaluate(data, "mse").loss).toBeLessThan(before / 10);
    });
  }
});

describe("optimizer defaults (PyTorch 2's)", () => {
  it("fills in the learning rate, momentum, rho, betas and epsilon", () => {
    expect(resolveOptimizer({ name: "sgd" })).toMatchObject({ learningRate: 0.001, momentum: 0 });
    expect(resolveOptimizer({ name: "momentum" })).toMatchObject({
      learningRate: 0.001,
      momentum: 0.9,
    });
    expect(resolveOptimizer({ name: "rmsprop" })).toMatchObject({
      learningRate: 0.01,
      rho: 0.99,
      epsilon: 1e-8,
    });
    expect(resolveOptimizer({ name: "adam" })).toMatchObject({
      learningRate: 0.001,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0,
    });
  });
});
