/**
 * Finite-difference checks: the analytic gradient of every parameter (backpropagation through
 * the arena kernels) against central differences of the loss, for every hidden activation and
 * every output activation / loss pair the engine accepts.
 */
import { describe, expect, it } from "vitest";
import { createNetwork, type Network } from "../../src/engine/index.ts";
import { LOSS_INFO, lossAndGradient } from "../../src/engine/losses.ts";
import type { ActivationName, LossName } from "../../src/engine/spec.ts";

const ROWS = 5;
const INPUTS = 3;

function batchLoss(net: Network, loss: LossName, gradient: boolean): number {
  const h = net.head;
  net.forward(ROWS);
  const sum = lossAndGradient(
    net.memory,
    LOSS_INFO[loss].code,
    h.act,
    h.alpha,
    net.lossBuffers(),
    ROWS,
    net.outputs,
    gradient,
  );
  return sum / ROWS;
}

function check(hidden: ActivationName, output: ActivationName, loss: LossName, units = 3): void {
  const net = createNetwork(
    {
      inputs: INPUTS,
      layers: [
        { units: 4, activation: hidden },
        { units, activation: output },
      ],
    },
    { seed: 11 },
  );
  net.reserve(ROWS, 0);
  const m = net.memory;
  for (let i = 0; i < ROWS * INPUTS; i++) m[net.input + i] = Math.sin(1.7 * i + 0.3) * 1.5;
  for (let r = 0; r < ROWS; r++) {
    net.labels[r] = (r * 2) % units;
    for (let j = 0; j < units; j++) {
      // Targets in [0, 1]; rows sum to 1 for categorical cross-entropy; for mae, far from every
      // output, so no difference straddles the kink of |a − t|.
      m[net.targets + r * units + j] =
        loss === "categoricalCrossentropy"
          ? j === r % units
            ? 0.7
            : 0.3 / (units - 1)
          : loss === "mae"
            ? ((r + j) % 2) * 6 - 3
            : ((r + j) % 3) / 2;
    }
  }
  batchLoss(net, loss, true);
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
      const up = batchLoss(net, loss, false);
      m[p] = keep - h;
      const down = batchLoss(net, loss, false);
      m[p] = keep;
      const numeric = (up - down) / (2 * h);
      // float32 storage, so a tolerance mixing absolute and relative error.
      expect(
        Math.abs(analytic[p]! - numeric),
        `param at ${p}: ${analytic[p]} vs ${numeric}`,
      ).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
      checked++;
    }
  }
  expect(checked).toBe(net.parameterCount);
}

describe("backpropagation matches finite differences", () => {
  const hidden: ActivationName[] = ["sigmoid", "tanh", "relu", "leakyRelu", "elu", "linear"];
  for (const act of hidden) {
    it(`through a ${act} hidden layer (linear output, mse)`, () => check(act, "linear", "mse"));
  }

  const pairs: [ActivationName, LossName][] = [
    ["linear", "mse"],
    ["linear", "mae"],
    ["sigmoid", "mse"],
    ["sigmoid", "mae"],
    ["sigmoid", "binaryCrossentropy"],
    ["tanh", "mse"],
    ["tanh", "mae"],
    ["relu", "mse"],
    ["leakyRelu", "mse"],
    ["elu", "mse"],
    ["elu", "mae"],
    ["softmax", "mse"],
    ["softmax", "mae"],
    ["softmax", "categoricalCrossentropy"],
    ["softmax", "sparseCategoricalCrossentropy"],
  ];
  for (const [output, loss] of pairs) {
    it(`for a ${output} output with ${loss} (tanh hidden)`, () => check("tanh", output, loss));
  }

  it("for a single sigmoid unit with binaryCrossentropy", () =>
    check("relu", "sigmoid", "binaryCrossentropy", 1));
});

describe("loss values", () => {
  it("cross-entropy from logits stays finite where log(softmax) would underflow", () => {
    const net = createNetwork({ inputs: 2, layers: [{ units: 2, activation: "softmax" }] });
    net.setWeights([new Float32Array([1, 0, 0, 1]), new Float32Array(2)]);
    const result = net.evaluate(
      { inputs: new Float32Array([200, 0]), rows: 1, labels: new Int32Array([1]) },
      "sparseCategoricalCrossentropy",
    );
    expect(result.loss).toBeCloseTo(200, 4);
    expect(result.accuracy).toBe(0);
  });

  it("binary cross-entropy from logits stays finite for a saturated sigmoid", () => {
    const net = createNetwork({ inputs: 1, layers: [{ units: 1, activation: "sigmoid" }] });
    net.setWeights([new Float32Array([1]), new Float32Array([0])]);
    const result = net.evaluate(
      { inputs: new Float32Array([-100]), rows: 1, targets: new Float32Array([1]) },
      "binaryCrossentropy",
    );
    expect(result.loss).toBeCloseTo(100, 4);
  });

  it("mse, mae and the mae metric are means over every output value", () => {
    const net = createNetwork({ inputs: 2, layers: [{ units: 2, activation: "linear" }] });
    net.setWeights([new Float32Array([1, 0, 0, 1]), new Float32Array(2)]);
    const data = {
      inputs: new Float32Array([1, 2, 3, 4]),
      rows: 2,
      targets: new Float32Array([0, 2, 3, 0]),
    };
    // errors: 1, 0, 0, 4
    expect(net.evaluate(data, "mse")).toEqual({ loss: 17 / 4, mae: 5 / 4 });
    expect(net.evaluate(data, "mae")).toEqual({ loss: 5 / 4, mae: 5 / 4 });
  });
});
