/**
 * The native kernels (native/, built by postinstall): the addon loads and its dispatch matches
 * this CPU's flags; the three copies (AVX-512, AVX2, scalar) give the same bits on every product,
 * activation and update, and agree with the JavaScript reference within float tolerance; seeded
 * training is bit-identical across the copies on one and on two threads; a bad argument is a
 * JavaScript error, never a crash; and the install script falls back to WebAssembly without a
 * compiler.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
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
import { createNetwork, type KernelBackend, fit as train } from "../../src/engine/index.ts";
import { JS_KERNELS, type KernelSet } from "../../src/engine/kernel-set.ts";
import {
  type NativeIsa,
  type NativeKernels,
  nativeAddon,
  nativeIsas,
  nativeKernels,
} from "../../src/engine/native-kernels.ts";
import { Optimizer, resolveOptimizer } from "../../src/engine/optimizers.ts";
import { ParallelTrainer } from "../../src/engine/parallel-trainer.ts";
import { Random } from "../../src/engine/random.ts";
import { createKernels } from "../../src/engine/wasm-kernels.ts";

const ACTS: [string, number, number][] = [
  ["linear", ACT_LINEAR, 0],
  ["sigmoid", ACT_SIGMOID, 0],
  ["tanh", ACT_TANH, 0],
  ["relu", ACT_RELU, 0],
  ["leakyRelu", ACT_LEAKY_RELU, 0.01],
  ["elu", ACT_ELU, 1],
  ["step", ACT_STEP, 0],
];
// [rows, K, N]: one row (prediction), fewer rows than a tile (8 / 6 / 4), the column edges of
// 8-, 16- and 32-wide blocks, the 10-unit head, 255/257 around 256, one row wider than 128.
const SHAPES = [
  [1, 1, 1],
  [1, 784, 10],
  [1, 37, 300],
  [3, 17, 10],
  [5, 3, 17],
  [7, 257, 255],
  [9, 33, 31],
  [17, 255, 257],
  [64, 33, 1],
  [64, 100, 128],
];

/** This CPU's flags, from the kernel (Linux). */
function cpuFlags(): Set<string> {
  const line = readFileSync("/proc/cpuinfo", "utf8")
    .split("\n")
    .find((l) => l.startsWith("flags"));
  return new Set((line ?? "").split(":")[1]?.trim().split(/\s+/) ?? []);
}

function copies(): NativeKernels[] {
  return nativeIsas().map((isa) => nativeKernels(`native-${isa}`)!);
}

function filled(k: KernelSet, size: number, seed: number): Float32Array {
  const m = k.arena(undefined, size, 0);
  const r = new Random(seed);
  for (let i = 0; i < size; i++) m[i] = r.uniform() * 2 - 1;
  return m;
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** got within float32 tolerance of want over [off, off + n), scaled by the sum's length. */
function expectClose(got: Float32Array, want: Float32Array, off: number, n: number, terms = 1) {
  const tol = 8e-6 * Math.max(1, Math.sqrt(terms));
  for (let i = off; i < off + n; i++) {
    const d = Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!));
    if (!(d <= tol)) expect(`${got[i]} at ${i}`).toBe(`${want[i]} within ${tol}`);
  }
}

describe("the native addon", () => {
  it("is built (postinstall) and offers the copies this CPU's flags allow, best first", () => {
    expect(nativeAddon()).not.toBeNull();
    const flags = cpuFlags();
    const want: NativeIsa[] = [];
    if (
      ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx2", "fma", "bmi2"].every((f) =>
        flags.has(f),
      )
    )
      want.push("avx512");
    if (flags.has("avx2") && flags.has("fma")) want.push("avx2");
    want.push("scalar");
    expect(nativeIsas()).toEqual(want);
  });

  it("is the default backend, and NNSERVE_NATIVE_ISA / NNSERVE_KERNELS force a copy", () => {
    const saved = { isa: process.env.NNSERVE_NATIVE_ISA, kernels: process.env.NNSERVE_KERNELS };
    try {
      delete process.env.NNSERVE_NATIVE_ISA;
      delete process.env.NNSERVE_KERNELS;
      expect(createKernels().backend).toBe(`native-${nativeIsas()[0]}`);
      process.env.NNSERVE_NATIVE_ISA = "scalar";
      expect(createKernels().backend).toBe("native-scalar");
      expect(createKernels("native").backend).toBe("native-scalar");
      delete process.env.NNSERVE_NATIVE_ISA;
      process.env.NNSERVE_KERNELS = "native-scalar";
      expect(
        createNetwork({ inputs: 2, layers: [{ units: 1, activation: "linear" }] }).kernels.backend,
      ).toBe("native-scalar");
      process.env.NNSERVE_KERNELS = "relaxed";
      expect(createKernels().backend).toBe("relaxed");
    } finally {
      for (const [key, value] of [
        ["NNSERVE_NATIVE_ISA", saved.isa],
        ["NNSERVE_KERNELS", saved.kernels],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});

describe("choosing a native copy", () => {
  const real = () => nativeAddon()!;
  const cpu = (isas: NativeIsa[]) => ({
    isas: () => isas,
    kernels: (i: NativeIsa) => real().kernels(i),
  });

  it("takes the next vector copy when the CPU lacks the one asked for, never the scalar one", () => {
    expect(nativeKernels("native-avx512", cpu(["avx2", "scalar"]))!.backend).toBe("native-avx2");
    expect(nativeKernels("native", cpu(["avx2", "scalar"]))!.backend).toBe("native-avx2");
    expect(nativeKernels("native", cpu(["scalar"]))).toBeNull();
    expect(nativeKernels("native-avx2", cpu(["scalar"]))).toBeNull();
    expect(nativeKernels("native-scalar", cpu(["scalar"]))!.backend).toBe("native-scalar");
  });

  it("offers nothing without the addon (not built), so the choice goes on to WebAssembly", () => {
    expect(nativeKernels("native", null)).toBeNull();
    expect(nativeKernels("native-scalar", null)).toBeNull();
  });
});

describe("the three copies", () => {
  for (const [rows, K, N] of SHAPES) {
    it(`give the same bits, close to JavaScript's, for rows=${rows} K=${K} N=${N}, every activation`, () => {
      const x = 0;
      const w = x + rows * K + 3;
      const b = w + K * N + 1;
      const y = b + N + 2;
      const dz = y + rows * N + 1;
      const dx = dz + rows * N + 3;
      const dw = dx + rows * K + 1;
      const db = dw + K * N + 2;
      const scratch = db + N + 1;
      const size = scratch + K * N + 1;
      for (const [name, act, alpha] of ACTS) {
        const outs: Float32Array[] = [];
        const squares: number[] = [];
        for (const k of copies()) {
          const m = filled(k, size, rows * 7 + K * 3 + N + act);
          k.denseForward(m, x, w, b, y, rows, K, N, act, alpha);
          k.backwardInput(m, dz, w, dx, x, rows, N, K, act, alpha, scratch);
          squares.push(k.backwardWeights(m, x, dz, dw, db, rows, K, N, true));
          outs.push(m);
        }
        for (const m of outs.slice(1)) expect(bits(m).equals(bits(outs[0]!)), name).toBe(true);
        expect(new Set(squares).size, name).toBe(1);
        const j = filled(JS_KERNELS, size, rows * 7 + K * 3 + N + act);
        JS_KERNELS.denseForward(j, x, w, b, y, rows, K, N, act, alpha);
        JS_KERNELS.backwardInput(j, dz, w, dx, x, rows, N, K, act, alpha, scratch);
        JS_KERNELS.backwardWeights(j, x, dz, dw, db, rows, K, N);
        const m = outs[0]!;
        if (act !== ACT_STEP) expectClose(m, j, y, rows * N, K);
        expectClose(m, j, dx, rows * K, N);
        expectClose(m, j, dw, K * N, rows);
        expectClose(m, j, db, N, rows);
        let want = 0;
        for (let i = dw; i < dw + K * N; i++) want += m[i]! * m[i]!;
        for (let i = db; i < db + N; i++) want += m[i]! * m[i]!;
        expect(Math.abs(squares[0]! - want) / Math.max(want, 1e-30), name).toBeLessThan(1e-5);
      }
    });
  }

  it("give a row alone (zero inputs skipped) exactly what they give that row in a batch", () => {
    for (const k of copies()) {
      for (const [K, N] of [
        [784, 256],
        [37, 10],
        [5, 300],
      ] as const) {
        const rows = 12;
        const x = 0;
        const w = rows * K;
        const b = w + K * N;
        const y = b + N;
        const one = y + rows * N;
        const m = filled(k, one + N, K + N);
        // Blank "pixels": every third input of every row is exactly 0.
        for (let i = 0; i < rows * K; i += 3) m[x + i] = 0;
        k.denseForward(m, x, w, b, y, rows, K, N, ACT_RELU, 0);
        for (const r of [0, 5, 11]) {
          k.denseForward(m, x + r * K, w, b, one, 1, K, N, ACT_RELU, 0);
          const alone = m.slice(one, one + N);
          expect(bits(alone).equals(bits(m.slice(y + r * N, y + (r + 1) * N)))).toBe(true);
        }
      }
    }
  });

  it("give the same bits on activations and every optimizer update, tails included", () => {
    const n = 1001;
    const results: Float32Array[] = [];
    const sums: number[] = [];
    for (const k of copies()) {
      const m = filled(k, 6 * n, 5);
      for (const [, act, alpha] of ACTS) k.activateInto(m, 0, n, 1, n, act, alpha);
      k.activateInto(m, 7, n + 1, 11, 90, ACT_SOFTMAX, 0);
      k.sgdUpdate(m, 0, n, n - 7, 0.1, 0.01);
      k.momentumUpdate(m, 0, n, 2 * n, n, 0.1, 0.9, 0.01, true);
      k.momentumUpdate(m, 3, n, 2 * n, n - 3, 0.1, 0.9, 0, false);
      k.rmspropUpdate(m, 0, n, 3 * n, n, 0.01, 0.99, 1e-8, 0.001);
      k.adamUpdate(m, 0, n, 4 * n, 5 * n, n, 1e-3, 0.9, 0.999, 1e-8, 0, 0.1, 0.001);
      k.scaleInPlace(m, 5, n - 9, 0.75);
      sums.push(k.sumOfSquares(m, 1, 5 * n + 3));
      results.push(m);
    }
    for (const m of results.slice(1)) expect(bits(m).equals(bits(results[0]!))).toBe(true);
    expect(new Set(sums).size).toBe(1);
  });

  it("give the same softmax bits for rows longer than a chunk and logits exp under- and overflows", () => {
    // Vectors of exp across rows (a group of short rows), a 700-wide row in pieces, and
    // differences from the row maximum past −745 (exp is 0) and near it.
    const results: Float32Array[] = [];
    for (const k of copies()) {
      const m = filled(k, 4 * 1400 + 64, 8);
      for (let i = 0; i < 1400; i += 7) m[i] = -760 + (i % 30);
      m[3] = 90;
      k.activateInto(m, 0, 1400, 2, 700, ACT_SOFTMAX, 0);
      k.activateInto(m, 2800, 4200, 1400 / 7, 7, ACT_SOFTMAX, 0);
      results.push(m);
    }
    for (const m of results.slice(1)) expect(bits(m).equals(bits(results[0]!))).toBe(true);
    const j = filled(JS_KERNELS, 4 * 1400 + 64, 8);
    for (let i = 0; i < 1400; i += 7) j[i] = -760 + (i % 30);
    j[3] = 90;
    JS_KERNELS.activateInto(j, 0, 1400, 2, 700, ACT_SOFTMAX, 0);
    JS_KERNELS.activateInto(j, 2800, 4200, 1400 / 7, 7, ACT_SOFTMAX, 0);
    expectClose(results[0]!, j, 1400, 1400);
    expectClose(results[0]!, j, 4200, 1400);
  });

  it("give JavaScript's softmax within float tolerance, rows summing to 1", () => {
    for (const k of copies()) {
      const m = filled(k, 2 * 37 * 10, 3);
      for (let i = 0; i < 10; i++) m[i] = 80 + i; // large logits: the max shift keeps exp finite
      const j = m.slice();
      k.activateInto(m, 0, 370, 37, 10, ACT_SOFTMAX, 0);
      JS_KERNELS.activateInto(j, 0, 370, 37, 10, ACT_SOFTMAX, 0);
      expectClose(m, j, 370, 370);
      for (let r = 0; r < 37; r++) {
        let sum = 0;
        for (let c = 0; c < 10; c++) sum += m[370 + r * 10 + c]!;
        expect(Math.abs(sum - 1)).toBeLessThan(1e-6);
      }
    }
  });

  it("find every NaN and ±Infinity, wherever it lies (allFinite)", () => {
    for (const isa of nativeIsas()) {
      const k = nativeAddon()!.kernels(isa);
      const v = new Float32Array(1037).map((_, i) => (i % 7) - 3.5);
      expect(k.allFinite(v)).toBe(true);
      expect(k.allFinite(new Float32Array(0))).toBe(true);
      for (const at of [0, 63, 64, 1024, 1036]) {
        for (const bad of [Number.NaN, Infinity, -Infinity]) {
          const w = v.slice();
          w[at] = bad;
          expect(k.allFinite(w), `${bad} at ${at}`).toBe(false);
          // A view that starts past the bad value sees none.
          expect(k.allFinite(w.subarray(at + 1))).toBe(true);
        }
      }
    }
  });

  it("store Adam's moments that decay below FLT_MIN as 0, never as subnormals", () => {
    for (const k of copies()) {
      const m = k.arena(undefined, 64, 0);
      m.fill(0.5, 0, 16); // parameters; gradients [16, 32) stay 0
      m.fill(1.25e-38, 32, 48); // moments one step from subnormal
      m.fill(1.176e-38, 48, 64);
      k.adamUpdate(m, 0, 16, 32, 48, 16, 1e-3, 0.9, 0.999, 1e-8, 0, 0.5, 0.5);
      expect([...m.subarray(32, 64)].every((v) => v === 0)).toBe(true);
    }
  });
});

/** Seeded training of a small classifier on `kernels`: the weights it ends with, as bytes,
 * and its epochs' loss and accuracy. */
async function trained(kernels: KernelBackend, threads: 1 | 2) {
  const r = new Random(21);
  const rows = 301;
  const inputs = new Float32Array(rows * 13).map(() => r.uniform() * 2 - 1);
  const labels = new Int32Array(rows).map((_, i) => (inputs[i * 13]! > 0 ? 1 : 0) + (i % 2));
  const net = createNetwork(
    {
      inputs: 13,
      layers: [
        { units: 40, activation: "tanh" },
        { units: 19, activation: "elu" },
        { units: 3, activation: "softmax" },
      ],
    },
    { seed: 9, kernels },
  );
  expect(net.kernels.backend).toBe(kernels);
  const result = await train(
    net,
    { inputs, rows, labels },
    {
      loss: "sparseCategoricalCrossentropy",
      optimizer: { name: "adam", learningRate: 0.01, clipNorm: 0.5 },
      epochs: 3,
      batchSize: 24,
      seed: 3,
      threads,
    },
  );
  return {
    weights: bits(net.memory.slice(0, net.parameterBlock)),
    history: result.history.map((h) => [h.loss, h.accuracy]),
  };
}

describe("training on the native kernels", () => {
  it("gives the same weights and losses bit for bit on every copy, on one thread and on two", async () => {
    // Two threads split outputs, never a sum (parallel-step.ts): the batch of 24 (and the last
    // one, of 13: shares of 7 and 6) as one thread computes it. The run clips (clipNorm), so
    // the norm's squares must agree too.
    const backends = nativeIsas().map((isa) => `native-${isa}` as KernelBackend);
    const runs: { backend: string; threads: number; run: Awaited<ReturnType<typeof trained>> }[] =
      [];
    for (const backend of backends) {
      for (const threads of [1, 2] as const) {
        runs.push({ backend, threads, run: await trained(backend, threads) });
      }
    }
    const first = runs[0]!.run;
    for (const { backend, threads, run } of runs) {
      expect(run.weights.equals(first.weights), `${backend}, ${threads} threads`).toBe(true);
      expect(run.history, `${backend}, ${threads} threads`).toEqual(first.history);
    }
  }, 60_000);

  it("gives one thread's bits on two when each layer is cut into several column blocks", async () => {
    // 200 inputs at batch 64: the first layer's 96 columns make 3 blocks, the second's 70 two,
    // the deltas of the first two (column-blocks.ts), so both threads take blocks of one layer;
    // Adam without clipNorm runs the shared fused step, with it the parameter ranges.
    const r = new Random(5);
    const rows = 480;
    const inputs = new Float32Array(rows * 200).map(() => (r.uniform() < 0.4 ? 0 : r.uniform()));
    const labels = new Int32Array(rows).map((_, i) => (i * 7) % 4);
    const fitOn = async (kernels: KernelBackend, threads: 1 | 2, clipNorm: number) => {
      const net = createNetwork(
        {
          inputs: 200,
          layers: [
            { units: 96, activation: "relu" },
            { units: 70, activation: "tanh" },
            { units: 4, activation: "softmax" },
          ],
        },
        { seed: 4, kernels },
      );
      const result = await train(
        net,
        { inputs, rows, labels },
        {
          loss: "sparseCategoricalCrossentropy",
          optimizer: { name: "adam", learningRate: 0.003, ...(clipNorm ? { clipNorm } : {}) },
          epochs: 2,
          batchSize: 64,
          seed: 8,
          threads,
        },
      );
      return {
        weights: bits(net.memory.slice(0, net.parameterBlock)),
        history: result.history.map((h) => [h.loss, h.accuracy]),
      };
    };
    for (const clipNorm of [0, 0.5]) {
      const one = await fitOn(`native-${nativeIsas()[0]!}`, 1, clipNorm);
      for (const isa of nativeIsas()) {
        const two = await fitOn(`native-${isa}`, 2, clipNorm);
        expect(two.weights.equals(one.weights), `${isa}, clipNorm ${clipNorm}`).toBe(true);
        expect(two.history).toEqual(one.history);
      }
    }
  }, 60_000);

  it("runs two threads over a shared memory with the helper on the same copy", async () => {
    const net = createNetwork(
      {
        inputs: 4,
        layers: [
          { units: 8, activation: "relu" },
          { units: 2, activation: "linear" },
        ],
      },
      { seed: 1 },
    );
    const optimizer = new Optimizer(resolveOptimizer({ name: "sgd" }));
    net.reserve(8, optimizer.slots);
    const data = { inputs: new Float32Array(32), rows: 8, targets: new Float32Array(16) };
    const parallel = await ParallelTrainer.start(net, data, "mse", optimizer);
    expect(parallel).toBeDefined();
    expect(net.kernels.backend).toBe(`native-${nativeIsas()[0]}`);
    expect(net.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    await parallel!.close();
    expect(net.memory.buffer).toBeInstanceOf(ArrayBuffer);
  }, 30_000);
});

describe("a bad argument to the addon", () => {
  const k = nativeAddon()!.kernels(nativeIsas()[0]!);
  const m = new Float32Array(100);
  // columnBlocks' arguments after the list: one phase of the one chunk, counters (batch 1),
  // slot 0, a scratch block of 8 floats at 90, batch 1.
  const counters = new Int32Array(2);
  const phase = [Int32Array.of(0, 1), counters, 0, 90, 8, 1] as const;
  const block = (fields: number[]) => Int32Array.from(fields);
  const cases: [string, () => unknown, RegExp][] = [
    [
      "a region past the arena",
      () => k.denseForward(m, 0, 50, 0, 91, 2, 10, 5, 0, 0),
      /outside the arena of 100 floats/,
    ],
    ["an offset past the arena", () => k.sumOfSquares(m, 101, 0), /outside the arena/],
    [
      "a negative size",
      () => k.scale(m, 0, -1, 2),
      /n \(argument 3\) must be an integer in \[0, 2\^31\)/,
    ],
    [
      "a fractional offset",
      () => k.sgdUpdate(m, 0.5, 10, 10, 0.1, 0),
      /p \(argument 2\) must be an integer/,
    ],
    ["NaN", () => k.activate(m, 0, 10, Number.NaN, 3, 0), /n \(argument 4\)/],
    [
      "a size whose product overflows 32 bits",
      () => k.denseForward(m, 0, 0, 0, 0, 2 ** 30, 2 ** 30, 1, 0, 0),
      /outside the arena/,
    ],
    ["a string for a number", () => k.scale(m, "0" as never, 1, 2), /must be a number/],
    ["a Float64Array arena", () => k.scale(new Float64Array(4) as never, 0, 1, 2), /Float32Array/],
    ["no arena", () => k.scale(undefined as never, 0, 1, 2), /Float32Array/],
    [
      "too few arguments",
      () => (k.adamUpdate as (...a: unknown[]) => void)(m, 0, 1, 2),
      /expects 13 arguments, got 4/,
    ],
    [
      "softmax as an element-wise activation",
      () => k.activate(m, 0, 10, 10, ACT_SOFTMAX, 0),
      /act .* not an element-wise activation/,
    ],
    ["an unknown activation code", () => k.denseForward(m, 0, 0, 0, 10, 1, 1, 1, 99, 0), /act/],
    [
      "a column block past its product's columns",
      // kind, a, w, bias, c, aux, rows, K, N, j0, j1, act, alpha: 2×3 · 3×4, columns [0, 5).
      () => k.columnBlocks(m, block([0, 0, 6, 18, 22, 0, 2, 3, 4, 0, 5, 0, 0]), ...phase),
      /columns \[0, 5\) are not within \[0, 4\)/,
    ],
    [
      "a column block whose output lies past the arena",
      () => k.columnBlocks(m, block([0, 0, 6, 18, 95, 0, 2, 3, 4, 0, 4, 0, 0]), ...phase),
      /c \[95, 103\) lies outside the arena/,
    ],
    [
      "a column block's transpose larger than the scratch block",
      () => k.columnBlocks(m, block([1, 0, 6, 0, 22, 30, 2, 3, 4, 0, 3, 3, 0]), ...phase),
      /needs 12 floats of scratch, not 8/,
    ],
    [
      "a phase past the list",
      () =>
        k.columnBlocks(
          m,
          block([0, 0, 6, 18, 22, 0, 2, 3, 4, 0, 4, 0, 0]),
          Int32Array.of(0, 2),
          new Int32Array(2),
          0,
          90,
          8,
          1,
        ),
      /phase 0: chunks \[0, 2\) are not within the list/,
    ],
    [
      "an unknown copy",
      () => nativeAddon()!.kernels("avx9000" as never),
      /avx9000 is not a copy this CPU can run/,
    ],
  ];
  for (const [what, call, message] of cases) {
    it(`throws (${what}) and leaves the arena as it was`, () => {
      counters.fill(1 << 16);
      m.fill(1.25);
      expect(call).toThrow(message);
      expect(m.every((v) => v === 1.25)).toBe(true);
    });
  }

  it("reaches the edge of the arena exactly and no further", () => {
    k.scale(m, 90, 10, 2);
    expect(m[99]).toBe(2.5);
    expect(() => k.scale(m, 91, 10, 2)).toThrow(/\[91, 101\) lies outside/);
  });
});

describe("the install script", () => {
  it("falls back to WebAssembly with one line when there is no C++ compiler", () => {
    // Exit 0 (execFileSync throws otherwise), and one line on stderr, where npm shows it.
    const line = execFileSync("sh", ["-c", "sh scripts/native-build.sh 2>&1"], {
      env: { ...process.env, CXX: "/nonexistent/bin/g++" },
      encoding: "utf8",
    });
    expect(line.trim().split("\n")).toEqual([
      "native-build: no C++ compiler (/nonexistent/bin/g++ not found; install g++ or set CXX) - the engine will use its WebAssembly kernels",
    ]);
    // The addon already built stays (the script stops before touching native/build).
    expect(nativeIsas().length).toBeGreaterThan(0);
  });
});
