/**
 * Continuing a run: 10 epochs, saved (weights and optimizer state), loaded into a new network
 * and trained 10 more, equals 20 epochs in one run bit for bit (same seed and data, constant
 * learning rate): the shuffles of the skipped epochs are replayed and dropout masks are drawn
 * per epoch from (seed, epoch).
 */
import { describe, expect, it } from "vitest";
import {
  createNetwork,
  loadNetwork,
  type OptimizerSpec,
  saveNetwork,
  fit as train,
} from "../../src/engine/index.ts";
import { expectEngineErrorAsync } from "./helpers.ts";

const rows = 90;
const inputs = new Float32Array(rows * 3);
const labels = new Int32Array(rows);
for (let r = 0; r < rows; r++) {
  for (let j = 0; j < 3; j++) inputs[r * 3 + j] = Math.sin(r * 1.1 + j * 0.6);
  labels[r] = (inputs[r * 3]! > 0 ? 1 : 0) + (inputs[r * 3 + 2]! > 0.3 ? 1 : 0);
}
const data = { inputs, rows, labels };
const spec = {
  inputs: 3,
  layers: [
    { units: 16, activation: "relu" as const },
    { units: 3, activation: "softmax" as const },
  ],
};

async function compare(optimizer: OptimizerSpec, extra: object = {}) {
  const options = {
    loss: "sparseCategoricalCrossentropy" as const,
    optimizer,
    batchSize: 16,
    seed: 42,
    ...extra,
  };
  const whole = createNetwork(spec, { seed: 42 });
  const wholeRun = await train(whole, data, { ...options, epochs: 20 });

  const first = createNetwork(spec, { seed: 42 });
  const firstRun = await train(first, data, { ...options, epochs: 10 });
  const saved = saveNetwork(first);
  const state = firstRun.optimizerState!;
  expect(state).toBeInstanceOf(Uint8Array);
  const second = loadNetwork(saved.architecture, saved.weights);
  const secondRun = await train(second, data, {
    ...options,
    epochs: 20,
    initialEpoch: 10,
    optimizerState: state,
  });
  expect(secondRun.history.map((h) => h.epoch)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  expect(secondRun.history.map((h) => h.loss)).toEqual(
    wholeRun.history.slice(10).map((h) => h.loss),
  );
  expect(second.getWeights()).toEqual(whole.getWeights());
  expect(secondRun.optimizerState).toEqual(wholeRun.optimizerState);
}

describe("a continued run equals the uninterrupted one, bit for bit", () => {
  it("adam", () => compare({ name: "adam", learningRate: 0.01 }));
  it("adamw with dropout", () =>
    compare({ name: "adamw", learningRate: 0.01 }, { dropout: { inputs: 0.1, layers: [0.3] } }));
  it("momentum with label smoothing and class weights", () =>
    compare(
      { name: "momentum", learningRate: 0.05 },
      { labelSmoothing: 0.1, classWeights: [1, 2, 1] },
    ));
  it("rmsprop with a step decay (the schedule counts on from epoch 11)", () =>
    compare({
      name: "rmsprop",
      learningRate: 0.001,
      decay: { type: "step", rate: 0.5, everyEpochs: 4 },
    }));

  it("but not without the optimizer state (adam restarts its moments)", async () => {
    const options = {
      loss: "sparseCategoricalCrossentropy" as const,
      optimizer: { name: "adam" as const, learningRate: 0.01 },
      batchSize: 16,
      seed: 1,
    };
    const whole = createNetwork(spec, { seed: 1 });
    await train(whole, data, { ...options, epochs: 4 });
    const part = createNetwork(spec, { seed: 1 });
    await train(part, data, { ...options, epochs: 2 });
    await train(part, data, { ...options, epochs: 4, initialEpoch: 2 });
    expect(part.getWeights()).not.toEqual(whole.getWeights());
  });

  it("refuses state of another optimizer", async () => {
    const net = createNetwork(spec, { seed: 1 });
    const run = await train(net, data, {
      loss: "sparseCategoricalCrossentropy",
      optimizer: { name: "adam" },
      epochs: 1,
      batchSize: 16,
    });
    await expectEngineErrorAsync(
      () =>
        train(net, data, {
          loss: "sparseCategoricalCrossentropy",
          optimizer: { name: "momentum" },
          epochs: 2,
          initialEpoch: 1,
          batchSize: 16,
          optimizerState: run.optimizerState!,
        }),
      "optimizerState",
      /2 state slots; momentum keeps 1/,
    );
  });
});
