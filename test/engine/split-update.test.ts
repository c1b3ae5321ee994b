/**
 * The pieces two-thread training splits its update into (parallel-trainer.ts): the optimizer over
 * parameter ranges, and the fused gradient combination with its sum of squares. Cut at a multiple
 * of 4 floats, the pieces must write exactly what one whole call writes, on every backend.
 */
import { describe, expect, it } from "vitest";
import { createNetwork, type KernelBackend } from "../../src/engine/index.ts";
import type { Network } from "../../src/engine/network.ts";
import { Optimizer, resolveOptimizer } from "../../src/engine/optimizers.ts";
import { splitPoint } from "../../src/engine/parallel-trainer.ts";
import { Random } from "../../src/engine/random.ts";
import { createKernels, WasmKernels } from "../../src/engine/wasm-kernels.ts";

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
        for (const cut of [splitPoint(P), 4, 100, 272, 276, 280, P - 4]) {
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

  it("cuts the parameter block at a multiple of 16 floats near its middle", () => {
    for (const P of [4, 16, 100, 235_148]) {
      const s = splitPoint(P);
      expect(s % 16).toBe(0);
      expect(Math.abs(P - 2 * s)).toBeLessThan(32);
    }
  });
});

describe("combineSquares", () => {
  for (const backend of ["relaxed", "simd"] as const) {
    it(`combines like combine and sums the squares (${backend}), split or whole`, () => {
      const k = createKernels(backend);
      expect(k).toBeInstanceOf(WasmKernels);
      const w = k as WasmKernels;
      const n = 203;
      const m = w.arena(undefined, 4 * n + 16, 0);
      const r = new Random(5);
      for (let i = 0; i < 2 * n; i++) m[i] = r.uniform() * 2 - 1;
      m.copyWithin(2 * n, 0, n); // a copy of d at 2n
      const a = 5 / 9;
      const b = 4 / 9;
      w.combine(2 * n, n, n, a, b);
      const expected = m.slice(2 * n, 3 * n);
      let squares = 0;
      for (const v of expected) squares += v * v;

      m.copyWithin(3 * n, 0, n);
      const whole = w.combineSquares(3 * n, n, n, a, b);
      expect(m.slice(3 * n, 4 * n)).toEqual(expected);
      expect(whole).toBeCloseTo(squares, 4);

      m.copyWithin(3 * n, 0, n);
      const cut = 64;
      const parts =
        w.combineSquares(3 * n, n, cut, a, b) +
        w.combineSquares(3 * n + cut, n + cut, n - cut, a, b);
      expect(m.slice(3 * n, 4 * n)).toEqual(expected);
      expect(parts).toBeCloseTo(squares, 4);
    });
  }
});
