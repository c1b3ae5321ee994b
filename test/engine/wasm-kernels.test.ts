/**
 * The WebAssembly SIMD kernel sets against the JavaScript reference (kernels.ts): every product
 * of the forward and backward passes, every activation and derivative, the optimizer updates,
 * on awkward shapes; seeded training on each backend; the fallbacks. Needs the binaries
 * (`npm run build:wasm`, run by postinstall).
 */
import { describe, expect, it } from "vitest";
import {
  ACT_ELU,
  ACT_LEAKY_RELU,
  ACT_LINEAR,
  ACT_RELU,
  ACT_SIGMOID,
  ACT_SOFTMAX,
  ACT_STEP,
  ACT_TANH,
} from "../../src/engine/activations.ts";
import { createNetwork, fit as train } from "../../src/engine/index.ts";
import { JS_KERNELS, type KernelSet } from "../../src/engine/kernel-set.ts";
import { nativeIsas } from "../../src/engine/native-kernels.ts";
import { Random } from "../../src/engine/random.ts";
import {
  availableKernelBackends,
  createKernels,
  kernelsFrom,
  type WasmBackend,
  wasmModule,
} from "../../src/engine/wasm-kernels.ts";

const WASM: WasmBackend[] = ["simd", "relaxed"];
const ACTS: [string, number, number][] = [
  ["linear", ACT_LINEAR, 0],
  ["sigmoid", ACT_SIGMOID, 0],
  ["tanh", ACT_TANH, 0],
  ["relu", ACT_RELU, 0],
  ["leakyRelu", ACT_LEAKY_RELU, 0.01],
  ["elu", ACT_ELU, 1],
  ["step", ACT_STEP, 0],
];
// [rows, K, N]: single rows and columns, fewer rows than a register tile (4 or 6), edges
// around the 8- and 16-column blocks, the 10-unit output layer, 255/257 around 256.
const SHAPES = [
  [1, 1, 1],
  [1, 784, 10],
  [3, 17, 10],
  [5, 3, 17],
  [6, 8, 8],
  [7, 257, 255],
  [17, 255, 257],
  [64, 33, 1],
  // Row counts whose 6-row tiling leaves 2 (8 = 2·4, 32 = 4·6 + 2·4; dW: M = K = 128).
  [8, 5, 9],
  [32, 128, 10],
];

/** An arena of `size` floats for `k`, filled with seeded values in [-1, 1), and a JS copy. */
function arenas(k: KernelSet, size: number, seed: number): [Float32Array, Float32Array] {
  const m = k.arena(undefined, size, 0);
  const r = new Random(seed);
  for (let i = 0; i < size; i++) m[i] = r.uniform() * 2 - 1;
  return [m, m.slice()];
}

/** Every value of got[off, off+n) within float32 tolerance of want (scaled by the sum length). */
function expectClose(got: Float32Array, want: Float32Array, off: number, n: number, terms = 1) {
  const tol = 2e-6 * Math.max(1, Math.sqrt(terms)) * 4;
  let worst = 0;
  let at = -1;
  for (let i = off; i < off + n; i++) {
    const d = Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!));
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst, `worst relative error at ${at}: ${got[at]} vs ${want[at]}`).toBeLessThan(tol);
}

describe("the WebAssembly kernel sets", () => {
  it("are built and run on this runtime (npm run build:wasm)", () => {
    const native = nativeIsas().map((isa) => `native-${isa}`);
    expect(availableKernelBackends()).toEqual([...native, "relaxed", "simd", "js"]);
  });

  for (const backend of WASM) {
    describe(`${backend}`, () => {
      const k = createKernels(backend);
      it("is the backend asked for", () => expect(k.backend).toBe(backend));

      for (const [rows, K, N] of SHAPES) {
        it(`forward, input and weight gradients agree with JS for rows=${rows} K=${K} N=${N}, every activation`, () => {
          const x = 0;
          const w = x + rows * K + 4;
          const b = w + K * N + 4;
          const y = b + N + 4;
          const dz = y + rows * N + 4;
          const dx = dz + rows * N + 4;
          const dw = dx + rows * K + 4;
          const db = dw + K * N + 4;
          const scratch = db + N + 4;
          const size = scratch + K * N + 4;
          for (const [name, act, alpha] of ACTS) {
            const [m, j] = arenas(k, size, rows * 7 + K * 3 + N + act);
            k.denseForward(m, x, w, b, y, rows, K, N, act, alpha);
            JS_KERNELS.denseForward(j, x, w, b, y, rows, K, N, act, alpha);
            if (act === ACT_STEP) {
              // 0/1 outputs: no sum here sits close enough to 0 for float32 to flip it.
              let flips = 0;
              for (let i = y; i < y + rows * N; i++) flips += m[i] === j[i] ? 0 : 1;
              expect(flips, name).toBe(0);
            } else expectClose(m, j, y, rows * N, K);
            // X plays the previous layer's activations for the fused derivative (values in
            // [-1, 1), so both sides of relu's, leaky relu's and elu's a > 0 are covered).
            const aPrev = x;
            k.backwardInput(m, dz, w, dx, aPrev, rows, N, K, act, alpha, scratch);
            JS_KERNELS.backwardInput(j, dz, w, dx, aPrev, rows, N, K, act, alpha, scratch);
            expectClose(m, j, dx, rows * K, N);
          }
          const [m, j] = arenas(k, size, 99);
          k.backwardWeights(m, x, dz, dw, db, rows, K, N);
          JS_KERNELS.backwardWeights(j, x, dz, dw, db, rows, K, N);
          expectClose(m, j, dw, K * N, rows);
          expectClose(m, j, db, N, rows);
        });

        it(`weight gradient sums the squares of exactly what it wrote for rows=${rows} K=${K} N=${N}`, () => {
          const x = 0;
          const dz = x + rows * K + 4;
          const dw = dz + rows * N + 4;
          const db = dw + K * N + 4;
          const size = db + N + 4;
          const [m, j] = arenas(k, size, rows + K + N);
          const squares = k.backwardWeights(m, x, dz, dw, db, rows, K, N, true);
          let want = 0;
          for (let i = dw; i < dw + K * N; i++) want += m[i]! * m[i]!;
          for (let i = db; i < db + N; i++) want += m[i]! * m[i]!;
          expect(Math.abs(squares - want) / want).toBeLessThan(1e-5);
          // Asked for nothing, it returns 0 and leaves no sum behind for the next that asks.
          expect(k.backwardWeights(m, x, dz, dw, db, rows, K, N)).toBe(0);
          expect(k.backwardWeights(m, x, dz, dw, db, rows, K, N, true)).toBe(squares);
          const js = JS_KERNELS.backwardWeights(j, x, dz, dw, db, rows, K, N, true);
          expect(Math.abs(js - want) / want).toBeLessThan(1e-4);
        });
      }

      // A row alone goes through the matrix-vector path, a row of a batch through the register
      // tiles: both must sum in the same order, so a prediction does not depend on its batch.
      // Shapes: the 784→256 layer, more columns than one 1,024-column pass, a < 16-column rest.
      for (const [K, N] of [
        [784, 256],
        [5, 1043],
        [3, 15],
      ]) {
        it(`gives a row alone exactly what it gives that row in a batch of 12, K=${K} N=${N}`, () => {
          const rows = 12;
          const x = 0;
          const w = x + rows * K + 4;
          const b = w + K * N + 4;
          const y = b + N + 4;
          const one = y + rows * N + 4;
          const [m] = arenas(k, one + N + 16, K + N);
          k.denseForward(m, x, w, b, y, rows, K, N, ACT_RELU, 0);
          for (let i = 0; i < rows; i++) {
            k.denseForward(m, x + i * K, w, b, one, 1, K, N, ACT_RELU, 0);
            const alone = m.slice(one, one + N);
            const batched = m.slice(y + i * N, y + (i + 1) * N);
            expect(alone, `row ${i}`).toEqual(batched);
          }
        });
      }

      it("activates element-wise and by row (softmax) like JS", () => {
        for (const [, act, alpha] of [...ACTS, ["softmax", ACT_SOFTMAX, 0] as const]) {
          const [m, j] = arenas(k, 2 * 3 * 17 + 8, act);
          k.activateInto(m, 0, 3 * 17 + 4, 3, 17, act, alpha);
          JS_KERNELS.activateInto(j, 0, 3 * 17 + 4, 3, 17, act, alpha);
          expectClose(m, j, 3 * 17 + 4, 3 * 17);
        }
      });

      for (const n of [1, 3, 17, 257]) {
        it(`updates like JS with every optimizer, n=${n}`, () => {
          const p = 0;
          const g = 300;
          const s1 = 600;
          const s2 = 900;
          const size = 1200;
          const runs: [string, (kk: KernelSet, m: Float32Array) => void][] = [
            ["sgd", (kk, m) => kk.sgdUpdate(m, p, g, n, 0.1, 0.01)],
            ["momentum", (kk, m) => kk.momentumUpdate(m, p, g, s1, n, 0.1, 0.9, 0.01, false)],
            ["nesterov", (kk, m) => kk.momentumUpdate(m, p, g, s1, n, 0.1, 0.9, 0, true)],
            ["rmsprop", (kk, m) => kk.rmspropUpdate(m, p, g, s1, n, 0.01, 0.99, 1e-8, 0.01)],
            [
              "adam",
              (kk, m) =>
                kk.adamUpdate(m, p, g, s1, s2, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.19, 0.002),
            ],
          ];
          for (const [, run] of runs) {
            const [m, j] = arenas(k, size, n);
            for (let i = s2; i < s2 + n; i++) j[i] = m[i] = Math.abs(m[i]!); // second moments ≥ 0
            for (let i = s1; i < s1 + n; i++) j[i] = m[i] = Math.abs(m[i]!); // rmsprop's too
            run(k, m);
            run(JS_KERNELS, j);
            expectClose(m, j, 0, size, 4);
          }
          const [m, j] = arenas(k, size, n + 1);
          expect(k.sumOfSquares(m, g, n)).toBeCloseTo(JS_KERNELS.sumOfSquares(j, g, n), 4);
          k.scaleInPlace(m, g, n, 0.37);
          JS_KERNELS.scaleInPlace(j, g, n, 0.37);
          expectClose(m, j, 0, size);
        });
      }

      it("keeps the arena's front and zeroes the rest when it grows", () => {
        const kk = createKernels(backend);
        const a = kk.arena(undefined, 10, 0);
        a.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        const b = kk.arena(a, 300_000, 4);
        expect(Array.from(b.subarray(0, 6))).toEqual([1, 2, 3, 4, 0, 0]);
        expect(b.length).toBe(300_000);
      });
    });
  }

  it("trains the same seeded model on every backend, within float tolerance", async () => {
    const rows = 300;
    const r = new Random(5);
    const inputs = new Float32Array(rows * 20).map(() => r.uniform());
    const labels = new Int32Array(rows).map((_, i) => Math.floor(inputs[i * 20]! * 3));
    const results = [];
    for (const kernels of ["js", "simd", "relaxed"] as const) {
      const net = createNetwork(
        {
          inputs: 20,
          layers: [
            { units: 17, activation: "tanh" },
            { units: 9, activation: "relu" },
            { units: 3, activation: "softmax" },
          ],
        },
        { seed: 3, kernels },
      );
      expect(net.kernels.backend).toBe(kernels);
      const result = await train(
        net,
        { inputs, rows, labels },
        {
          loss: "sparseCategoricalCrossentropy",
          optimizer: { name: "adam", learningRate: 0.01 },
          epochs: 3,
          batchSize: 16,
          seed: 1,
        },
      );
      results.push({ losses: result.history.map((h) => h.loss), weights: net.getWeights() });
    }
    const [js, ...wasm] = results;
    for (const other of wasm) {
      other!.losses.forEach((l, i) => {
        expect(l).toBeCloseTo(js!.losses[i]!, 3);
      });
      other!.weights.forEach((t, i) => {
        const ref = js!.weights[i]!;
        for (let e = 0; e < t.length; e++) expect(Math.abs(t[e]! - ref[e]!)).toBeLessThan(2e-3);
      });
    }
  });
});

describe("choosing the kernels", () => {
  it("falls back to the next backend when one is not built or cannot run", () => {
    expect(kernelsFrom("relaxed", () => null).backend).toBe("js");
    const simd = wasmModule("simd");
    expect(kernelsFrom("relaxed", (b) => (b === "simd" ? simd : null)).backend).toBe("simd");
    expect(kernelsFrom("simd", () => null)).toBe(JS_KERNELS);
  });

  it("takes the engine option, then NNSERVE_KERNELS, then the fastest", () => {
    const saved = process.env.NNSERVE_KERNELS;
    try {
      process.env.NNSERVE_KERNELS = "js";
      expect(
        createNetwork({ inputs: 2, layers: [{ units: 1, activation: "linear" }] }).kernels.backend,
      ).toBe("js");
      expect(
        createNetwork(
          { inputs: 2, layers: [{ units: 1, activation: "linear" }] },
          { kernels: "simd" },
        ).kernels.backend,
      ).toBe("simd");
      process.env.NNSERVE_KERNELS = "relaxed";
      expect(createKernels().backend).toBe("relaxed");
      // Unset, the best native copy this CPU runs (native-kernels.test.ts checks the addon).
      delete process.env.NNSERVE_KERNELS;
      expect(createKernels().backend).toBe(`native-${nativeIsas()[0]}`);
    } finally {
      if (saved === undefined) delete process.env.NNSERVE_KERNELS;
      else process.env.NNSERVE_KERNELS = saved;
    }
  });

  it("rejects an unknown backend name", () => {
    expect(() => createKernels("gpu" as never)).toThrow(/kernels/);
  });
});
