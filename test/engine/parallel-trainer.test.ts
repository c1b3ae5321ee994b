/**
 * Two-thread training (threads: 2): each batch split between two threads over one shared
 * WebAssembly memory, rows for the forward pass and deltas, outputs for the weight gradients
 * (parallel-step.ts), gives one thread's model and losses bit for bit, on every loss path
 * (labels, targets), odd batch sizes, label smoothing, class weights, adamw and clipping.
 */
import { describe, expect, it } from "vitest";
import { createNetwork, type KernelBackend, fit as train } from "../../src/engine/index.ts";
import { Random } from "../../src/engine/random.ts";
import { expectEngineErrorAsync } from "./helpers.ts";

function data(rows: number) {
  const r = new Random(11);
  const inputs = new Float32Array(rows * 12).map(() => r.uniform() * 2 - 1);
  const labels = new Int32Array(rows).map(
    (_, i) => (inputs[i * 12]! > 0 ? 1 : 0) + (inputs[i * 12 + 1]! > 0.5 ? 1 : 0),
  );
  const targets = new Float32Array(rows).map((_, i) => Math.sin(inputs[i * 12]! * 3));
  return { inputs, rows, labels, targets };
}

/** An epoch's figures, to compare exactly (durations aside). */
const metricsOf = (h: { loss: number; accuracy?: number; mae?: number }) => [
  h.loss,
  h.accuracy,
  h.mae,
];

async function run(
  kernels: KernelBackend,
  threads: 1 | 2,
  batchSize: number,
  regression: boolean,
  clipNorm?: number,
) {
  const d = data(203);
  const net = createNetwork(
    {
      inputs: 12,
      layers: [
        { units: 24, activation: "tanh" },
        { units: 16, activation: "relu" },
        regression ? { units: 1, activation: "linear" } : { units: 3, activation: "softmax" },
      ],
    },
    { seed: 4, kernels },
  );
  const result = await train(
    net,
    regression
      ? { inputs: d.inputs, rows: d.rows, targets: d.targets }
      : { inputs: d.inputs, rows: d.rows, labels: d.labels },
    {
      loss: regression ? "mse" : "sparseCategoricalCrossentropy",
      optimizer: regression
        ? { name: "momentum", learningRate: 0.05 }
        : { name: "adam", learningRate: 0.01, ...(clipNorm ? { clipNorm } : {}) },
      epochs: 3,
      batchSize,
      seed: 2,
      threads,
    },
  );
  return { net, result };
}

describe("training on two threads", () => {
  // Each case starts a helper thread (~0.3 s): the two backends, both loss paths, odd batches.
  for (const [kernels, batchSize, regression] of [
    ["relaxed", 16, false],
    ["simd", 7, true],
    ["relaxed", 1, false],
  ] as const) {
    it(`gives one thread's model bit for bit (${kernels}, batch ${batchSize}, ${regression ? "mse" : "labels"})`, async () => {
      const one = await run(kernels, 1, batchSize, regression);
      const two = await run(kernels, 2, batchSize, regression);
      expect(two.result.history.map(metricsOf)).toEqual(one.result.history.map(metricsOf));
      expect(two.net.getWeights()).toEqual(one.net.getWeights());
      // Back on a private memory afterwards: the arena can grow (a bigger predict batch).
      expect(two.net.kernels.backend).toBe(kernels);
      const out = two.net.predict(data(300).inputs, 300);
      expect(out.every(Number.isFinite)).toBe(true);
    });
  }

  it("trains label smoothing, class weights and adamw on both threads as on one", async () => {
    const d = data(203);
    const fitOn = async (threads: 1 | 2) => {
      const net = createNetwork(
        {
          inputs: 12,
          layers: [
            { units: 16, activation: "tanh" },
            { units: 3, activation: "softmax" },
          ],
        },
        { seed: 6, kernels: "relaxed" },
      );
      const result = await train(
        net,
        { inputs: d.inputs, rows: d.rows, labels: d.labels },
        {
          loss: "sparseCategoricalCrossentropy",
          optimizer: { name: "adamw", learningRate: 0.01, weightDecay: 0.05 },
          labelSmoothing: 0.1,
          classWeights: [1, 3, 0.5],
          epochs: 3,
          batchSize: 16,
          seed: 2,
          threads,
        },
      );
      return { net, result };
    };
    const one = await fitOn(1);
    const two = await fitOn(2);
    expect(two.result.history.map(metricsOf)).toEqual(one.result.history.map(metricsOf));
    expect(two.net.getWeights()).toEqual(one.net.getWeights());
  });

  it("gives the same model bit for bit on every run with the same seed", async () => {
    const a = await run("relaxed", 2, 16, false);
    const b = await run("relaxed", 2, 16, false);
    expect(b.net.getWeights()).toEqual(a.net.getWeights());
    const metrics = (r: typeof a) => r.result.history.map((h) => [h.loss, h.accuracy]);
    expect(metrics(b)).toEqual(metrics(a));
  });

  it("lets a batch callback read whole updated weights (the helper's range settled)", async () => {
    const d = data(203);
    const seen = async (threads: 1 | 2) => {
      const net = createNetwork(
        {
          inputs: 12,
          layers: [
            { units: 40, activation: "relu" },
            { units: 3, activation: "softmax" },
          ],
        },
        { seed: 4, kernels: "relaxed" },
      );
      const reads: Float32Array[] = [];
      await train(
        net,
        { inputs: d.inputs, rows: d.rows, labels: d.labels },
        {
          loss: "sparseCategoricalCrossentropy",
          optimizer: { name: "adam", learningRate: 0.01 },
          epochs: 2,
          batchSize: 16,
          seed: 2,
          threads,
          batchProgressEvery: 1,
          // The last tensor lies in the helper's range of the update.
          onBatch: () => void reads.push(net.getWeights()[3]!),
        },
      );
      return reads;
    };
    const one = await seen(1);
    const two = await seen(2);
    expect(two.length).toBe(one.length);
    expect(two).toEqual(one);
  });

  it("clips the combined gradient's norm as one thread does (clipNorm)", async () => {
    // A small clipNorm clips every step, so both runs take the clip path throughout.
    const one = await run("relaxed", 1, 16, false, 0.05);
    const two = await run("relaxed", 2, 16, false, 0.05);
    const free = await run("relaxed", 2, 16, false);
    const a = one.net.getWeights();
    const c = free.net.getWeights();
    expect(two.net.getWeights()).toEqual(a);
    let apart = 0;
    a.forEach((t, i) => {
      for (let e = 0; e < t.length; e++) apart = Math.max(apart, Math.abs(c[i]![e]! - t[e]!));
    });
    expect(apart).toBeGreaterThan(1e-3); // the clip did change the model
  });

  it("runs on one thread with the JavaScript kernels, identically", async () => {
    const one = await run("js", 1, 16, false);
    const two = await run("js", 2, 16, false);
    expect(two.net.getWeights()).toEqual(one.net.getWeights());
  });

  it("rejects a thread count other than 1 or 2", async () => {
    const d = data(10);
    const net = createNetwork({ inputs: 12, layers: [{ units: 3, activation: "softmax" }] });
    await expectEngineErrorAsync(
      () =>
        train(
          net,
          { inputs: d.inputs, rows: d.rows, labels: d.labels },
          {
            loss: "sparseCategoricalCrossentropy",
            optimizer: { name: "adam" },
            epochs: 1,
            batchSize: 4,
            threads: 3 as 2,
          },
        ),
      "threads",
      /2/,
    );
  });
});
