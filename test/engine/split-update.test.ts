/**
 * The pieces two-thread training splits a step into (parallel-step.ts): the optimizer over
 * parameter ranges, and the weight gradients by parameter ranges at Network.split with their
 * sums of squares. The pieces must write exactly what one whole call writes, on every backend.
 */
import { describe, expect, it } from "vitest";
import { createNetwork, type KernelBackend } from "../../src/engine/index.ts";
import { nativeIsas } from "../../src/engine/native-kernels.ts";
import type { Network } from "../../src/engine/network.ts";
import { threadSplit } from "../../src/engine/network.ts";
import { Optimizer, resolveOptimizer } from "../../src/engine/optimizers.ts";
import { rangeGradients, type SharedKernels } from "../../src/engine/parallel-step.ts";
import { Random } from "../../src/engine/random.ts";

const SPEC = {
  inputs: 13,
  layers: [
    { units: 21, activation: "relu" as const },
    { units: 3, activation: "softmax" as const },
  ],
};

/** A network with gradients and optimizer state filled with seeded noise. */
function filled(kernels: KernelBackend, optimizer: Optimizer): Network {
  const net = createNetwork(SPEC, { seed: 3, kernels });
  net.reserve(4, optimizer.slots);
  const r = new Random(9);
  const P = net.parameterBlock;
  const m = net.memory;
  for (let i = P; i < (2 + optimizer.slots) * P; i++) m[i] = r.uniform() - 0.5;
  // Second-moment state must be non-negative (Adam, RMSprop).
  for (let i = 3 * P; i < (2 + optimizer.slots) * P; i++) m[i] = Math.abs(m[i]!);
  return net;
}

const OPTIMIZERS = [
  { name: "adam", weightDecay: 0.01 },
  { name: "rmsprop", weightDecay: 0.01 },
  { name: "momentum", nesterov: true },
  { name: "sgd" },
] as const;

describe("an update split by parameter ranges", () => {
  for (const kernels of ["relaxed", "simd", "js"] as const) {
    for (const spec of OPTIMIZERS) {
      it(`writes what one update writes (${kernels}, ${spec.name}), for every cut`, () => {
        const config = resolveOptimizer({ ...spec, learningRate: 0.01 });
        const whole = new Optimizer(config);
        const ref = filled(kernels, whole);
        whole.step(ref, 0.01);
        whole.step(ref, 0.01);
        const P = ref.parameterBlock;
        // The trainer's cut, cuts inside W0, b0 and W1, and on b0's start (W0 is 273 floats).
        for (const cut of [ref.split, 4, 100, 272, 276, 280, P - 4]) {
          const split = new Optimizer(config);
          const net = filled(kernels, split);
          for (let s = 0; s < 2; s++) {
            split.advance();
            split.stepRange(net, 0.01, 0, cut, split.correction1, split.correction2);
            split.stepRange(net, 0.01, cut, P, split.correction1, split.correction2);
          }
          expect(net.memory.subarray(0, 4 * P)).toEqual(ref.memory.subarray(0, 4 * P));
        }
      });
    }
  }

  it("cuts the parameter block near its middle, between rows of a W, at a multiple of 4", () => {
    for (const layers of [
      [784, 256, 128, 10],
      [13, 21, 3],
      [3, 5, 1],
      [2, 1],
      [37, 300, 7],
    ]) {
      const net = createNetwork({
        inputs: layers[0]!,
        layers: layers.slice(1).map((units) => ({ units, activation: "relu" as const })),
      });
      const P = net.parameterBlock;
      const s = net.split;
      expect(s).toBe(threadSplit(net.layers, P));
      expect(s % 4).toBe(0);
      const onRow = net.layers.some(
        (l) =>
          s === l.bias ||
          (s >= l.weights &&
            s <= l.weights + l.inputs * l.units &&
            (s - l.weights) % l.units === 0),
      );
      expect(onRow || s === P).toBe(true);
      // Rows of at most 4·units floats apart are candidates, so the cut is that near the middle.
      const widest = Math.max(...net.layers.map((l) => 4 * l.units + l.units));
      expect(Math.abs(P - 2 * s)).toBeLessThanOrEqual(2 * widest);
    }
  });
});

const SHARED: KernelBackend[] = [
  ...nativeIsas().map((isa) => `native-${isa}` as KernelBackend),
  "relaxed",
  "simd",
];

describe("weight gradients split by parameter ranges", () => {
  for (const backend of SHARED) {
    it(`write backward's bits, and the two ranges' squares are gradientSquares (${backend})`, () => {
      const spec = {
        inputs: 37,
        layers: [
          { units: 30, activation: "tanh" as const },
          { units: 17, activation: "relu" as const },
          { units: 3, activation: "softmax" as const },
        ],
      };
      const rows = 23;
      const grads = (split: boolean) => {
        const net = createNetwork(spec, { seed: 2, kernels: backend });
        expect(net.kernels.backend).toBe(backend);
        net.reserve(rows, 0);
        const r = new Random(7);
        const m = net.memory;
        // Inputs, every layer's activations and deltas: noise (backward only reads them).
        for (let i = net.input; i < net.scratch; i++) m[i] = r.uniform() * 2 - 1;
        if (!split) {
          net.backward(rows);
          return {
            m: m.slice(net.gradients, 2 * net.parameterBlock),
            squares: net.gradientSquares(),
          };
        }
        // backward's deltas first (the threads write them before the weight gradients).
        net.backwardDeltas(0, 11, net.scratch);
        net.backwardDeltas(11, rows - 11, net.scratch);
        const k = net.kernels as SharedKernels;
        const a = rangeGradients(net, k, rows, 0, net.split);
        const b = rangeGradients(net, k, rows, net.split, net.parameterBlock);
        return { m: m.slice(net.gradients, 2 * net.parameterBlock), squares: a + b };
      };
      const whole = grads(false);
      const parts = grads(true);
      expect(Buffer.from(parts.m.buffer).equals(Buffer.from(whole.m.buffer))).toBe(true);
      expect(parts.squares).toBe(whole.squares);
      expect(whole.squares).toBeGreaterThan(0);
    });
  }
});
