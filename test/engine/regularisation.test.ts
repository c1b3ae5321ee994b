/**
 * Dropout, label smoothing and class weights: finite-difference checks of their gradients (dropout
 * at fixed masks: the same seeded draws for every evaluation), their formulas on a hand-sized
 * case, and their contracts in fit (seeded, off at prediction, one thread).
 */
import { describe, expect, it } from "vitest";
import { createNetwork, type Network, Random, fit as train } from "../../src/engine/index.ts";
import { LOSS_INFO, type LossSettings, lossAndGradient } from "../../src/engine/losses.ts";
import type { ActivationName, LossName } from "../../src/engine/spec.ts";
import { expectEngineErrorAsync } from "./helpers.ts";

const ROWS = 6;
const INPUTS = 4;

interface Case {
  hidden: ActivationName;
  output: ActivationName;
  loss: LossName;
  units: number;
  settings?: LossSettings;
  dropout?: { inputs: number; layers: number[] };
}

function build(c: Case): Network {
  const net = createNetwork(
    {
      inputs: INPUTS,
      layers: [
        { units: 5, activation: c.hidden },
        { units: 4, activation: c.hidden },
        { units: c.units, activation: c.output },
      ],
    },
    { seed: 5 },
  );
  if (c.dropout) net.setDropout(c.dropout);
  net.reserve(ROWS, 0);
  const m = net.memory;
  for (let i = 0; i < ROWS * INPUTS; i++) m[net.input + i] = Math.sin(1.3 * i + 0.2) * 1.5;
  for (let r = 0; r < ROWS; r++) {
    net.labels[r] = (r * 2 + 1) % Math.max(c.units, 2);
    for (let j = 0; j < c.units; j++) {
      m[net.targets + r * c.units + j] = c.units === 1 ? r % 2 : j === net.labels[r] ? 1 : 0;
    }
  }
  return net;
}

/** The batch-mean loss; with dropout, the masks come from a fresh Random(99) every time. */
function batchLoss(net: Network, c: Case, gradient: boolean): number {
  const h = net.head;
  net.forward(ROWS, c.dropout ? new Random(99) : undefined);
  const info = LOSS_INFO[c.loss];
  const sum = lossAndGradient(
    net.memory,
    info.code,
    h.act,
    h.alpha,
    net.lossBuffers(),
    ROWS,
    net.outputs,
    gradient,
    c.settings,
  );
  return sum / ROWS;
}

function check(c: Case): void {
  const net = build(c);
  const m = net.memory;
  batchLoss(net, c, true);
  net.backward(ROWS);
  const P = net.parameterBlock;
  const analytic = m.slice(P, 2 * P);
  const h = 1e-2;
  let checked = 0;
  for (const l of net.layers) {
    const params = [
      ...Array.from({ length: l.inputs * l.units }, (_, i) => l.weights + i),
      ...Array.from({ length: l.units }, (_, i) => l.bias + i),
    ];
    for (const p of params) {
      const keep = m[p]!;
      m[p] = keep + h;
      const up = batchLoss(net, c, false);
      m[p] = keep - h;
      const down = batchLoss(net, c, false);
      m[p] = keep;
      const numeric = (up - down) / (2 * h);
      expect(
        Math.abs(analytic[p]! - numeric),
        `param at ${p}: ${analytic[p]} vs ${numeric}`,
      ).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
      checked++;
    }
  }
  expect(checked).toBe(net.parameterCount);
}

const weights = (...w: number[]): LossSettings => ({
  smoothing: 0,
  classWeights: Float64Array.from(w),
});

describe("gradients match finite differences", () => {
  for (const hidden of ["tanh", "sigmoid", "elu"] as const) {
    it(`with dropout off, on the inputs and on both hidden layers (${hidden})`, () => {
      check({ hidden, output: "softmax", loss: "sparseCategoricalCrossentropy", units: 3 });
      check({
        hidden,
        output: "softmax",
        loss: "sparseCategoricalCrossentropy",
        units: 3,
        dropout: { inputs: 0.25, layers: [0.5, 0.3, 0] },
      });
    });
  }

  it("with dropout under mse (linear output)", () =>
    check({
      hidden: "tanh",
      output: "linear",
      loss: "mse",
      units: 2,
      dropout: { inputs: 0, layers: [0.4, 0, 0] },
    }));

  const smoothing: LossSettings = { smoothing: 0.2, classWeights: null };
  it("with label smoothing, sparse categorical cross-entropy", () =>
    check({
      hidden: "tanh",
      output: "softmax",
      loss: "sparseCategoricalCrossentropy",
      units: 3,
      settings: smoothing,
    }));
  it("with label smoothing, categorical cross-entropy", () =>
    check({
      hidden: "tanh",
      output: "softmax",
      loss: "categoricalCrossentropy",
      units: 3,
      settings: smoothing,
    }));
  // binaryCrossentropy trains a sigmoid output only (lossOutputProblem): one unit, or several
  // one-vs-rest.
  it("with label smoothing, binary cross-entropy (one and three sigmoid units)", () => {
    check({
      hidden: "tanh",
      output: "sigmoid",
      loss: "binaryCrossentropy",
      units: 1,
      settings: smoothing,
    });
    check({
      hidden: "tanh",
      output: "sigmoid",
      loss: "binaryCrossentropy",
      units: 3,
      settings: smoothing,
    });
  });

  it("with class weights, every cross-entropy", () => {
    check({
      hidden: "tanh",
      output: "softmax",
      loss: "sparseCategoricalCrossentropy",
      units: 3,
      settings: weights(0.5, 2, 1.5),
    });
    check({
      hidden: "tanh",
      output: "softmax",
      loss: "categoricalCrossentropy",
      units: 3,
      settings: weights(0.5, 2, 1.5),
    });
    check({
      hidden: "tanh",
      output: "sigmoid",
      loss: "binaryCrossentropy",
      units: 1,
      settings: weights(0.3, 3),
    });
  });

  it("with class weights, smoothing and dropout together", () =>
    check({
      hidden: "tanh",
      output: "softmax",
      loss: "sparseCategoricalCrossentropy",
      units: 3,
      settings: { smoothing: 0.1, classWeights: Float64Array.from([1, 2, 0.5]) },
      dropout: { inputs: 0.1, layers: [0.2, 0.2, 0] },
    }));
});

describe("loss formulas", () => {
  /** One row of logits z through a softmax output, label y. */
  function oneRow(
    z: number[],
    y: number,
    settings: LossSettings,
    loss: LossName = "sparseCategoricalCrossentropy",
  ) {
    const net = createNetwork({
      inputs: z.length,
      layers: [{ units: z.length, activation: "softmax" }],
    });
    const eye = new Float32Array(z.length * z.length);
    for (let i = 0; i < z.length; i++) eye[i * z.length + i] = 1;
    net.setWeights([eye, new Float32Array(z.length)]);
    net.reserve(1, 0);
    net.memory.set(z, net.input);
    net.labels[0] = y;
    for (let j = 0; j < z.length; j++) net.memory[net.targets + j] = j === y ? 1 : 0;
    net.forward(1);
    const h = net.head;
    return lossAndGradient(
      net.memory,
      LOSS_INFO[loss].code,
      h.act,
      h.alpha,
      net.lossBuffers(),
      1,
      z.length,
      true,
      settings,
    );
  }

  it("label smoothing mixes the one-hot target with the uniform one: (1 − ε)·CE + ε·mean(−log p)", () => {
    const z = [2, -1, 0.5];
    const lse = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
    const logp = z.map((v) => v - lse);
    const eps = 0.3;
    const expected = -(1 - eps) * logp[0]! - (eps / 3) * (logp[0]! + logp[1]! + logp[2]!);
    expect(oneRow(z, 0, { smoothing: eps, classWeights: null })).toBeCloseTo(expected, 5);
    expect(
      oneRow(z, 0, { smoothing: eps, classWeights: null }, "categoricalCrossentropy"),
    ).toBeCloseTo(expected, 5);
  });

  it("a class weight multiplies its rows' loss", () => {
    const z = [0.2, 1.1];
    const plain = oneRow(z, 1, { smoothing: 0, classWeights: null });
    expect(oneRow(z, 1, weights(1, 4))).toBeCloseTo(4 * plain, 5);
    expect(oneRow(z, 1, weights(9, 1))).toBeCloseTo(plain, 6);
  });
});

describe("dropout in fit", () => {
  const data = (() => {
    const rows = 64;
    const inputs = new Float32Array(rows * 3);
    const labels = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < 3; j++) inputs[r * 3 + j] = Math.cos(r * 0.7 + j * 1.9);
      labels[r] = inputs[r * 3]! + inputs[r * 3 + 1]! > 0 ? 1 : 0;
    }
    return { inputs, rows, labels };
  })();
  const spec = {
    inputs: 3,
    layers: [
      { units: 8, activation: "relu" as const },
      { units: 2, activation: "softmax" as const },
    ],
  };
  const options = (seed: number, dropout = { inputs: 0.1, layers: [0.5] }) => ({
    loss: "sparseCategoricalCrossentropy" as const,
    optimizer: { name: "adam" as const, learningRate: 0.01 },
    epochs: 5,
    batchSize: 8,
    seed,
    dropout,
  });

  it("gives bit-identical weights for the same seed, other weights for another", async () => {
    const a = createNetwork(spec, { seed: 1 });
    const b = createNetwork(spec, { seed: 1 });
    const c = createNetwork(spec, { seed: 1 });
    const plain = createNetwork(spec, { seed: 1 });
    await train(a, data, options(7));
    await train(b, data, options(7));
    await train(c, data, options(8));
    await train(plain, data, options(7, { inputs: 0, layers: [0] }));
    expect(a.getWeights()).toEqual(b.getWeights());
    expect(a.getWeights()).not.toEqual(c.getWeights());
    expect(a.getWeights()).not.toEqual(plain.getWeights());
  });

  it("is off at prediction: predict matches a network with the same weights and no dropout", async () => {
    const net = createNetwork(spec, { seed: 2 });
    await train(net, data, options(3));
    const twin = createNetwork(spec, { seed: 9 });
    twin.setWeights(net.getWeights());
    const x = data.inputs.subarray(0, 10 * 3);
    expect(net.predict(x, 10)).toEqual(twin.predict(x, 10));
    expect(net.predict(x, 10)).toEqual(net.predict(x, 10));
  });

  it("rejects rates outside [0, 1), dropout on the output layer, and two threads", async () => {
    const net = createNetwork(spec);
    await expectEngineErrorAsync(
      () => train(net, data, options(1, { inputs: 1, layers: [] })),
      "dropout.inputs",
      /\[0, 1\)|less than 1|< 1/,
    );
    await expectEngineErrorAsync(
      () => train(net, data, options(1, { inputs: 0, layers: [-0.1] })),
      "dropout.layers[0]",
      />= 0|at least 0|\[0/,
    );
    await expectEngineErrorAsync(
      () => train(net, data, options(1, { inputs: 0, layers: [0.2, 0.5] })),
      "dropout.layers[1]",
      /output layer/,
    );
    await expectEngineErrorAsync(
      () => train(net, data, { ...options(1), threads: 2 }),
      "threads",
      /one thread/,
    );
  });
});
