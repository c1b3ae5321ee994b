/**
 * The fused step (src/engine/fused-step.ts): Adam and AdamW applied to each weight gradient as
 * it is computed give the parameters, Adam's moments and the losses of the unfused path (backward,
 * then Optimizer.step) bit for bit, on every native copy, on one thread and on two (chunks
 * claimed from a shared counter); prediction's input check rides on the native copy and still
 * names the bad value; the addon's weightSteps, gatherRows and copyFinite check every argument.
 */
import { describe, expect, it } from "vitest";
import { createNetwork, type KernelBackend, fit as train } from "../../src/engine/index.ts";
import type { KernelSet } from "../../src/engine/kernel-set.ts";
import { nativeAddon, nativeIsas, nativeKernels } from "../../src/engine/native-kernels.ts";
import { Random } from "../../src/engine/random.ts";
import type { TrainOptions } from "../../src/engine/train-types.ts";

const bits = (a: Float32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** `k` without its weightSteps: the trainers then take the unfused path. */
function unfused(k: KernelSet): KernelSet {
  const set = Object.create(k) as KernelSet;
  Object.defineProperty(set, "weightSteps", { value: undefined });
  return set;
}

type Optimizer = TrainOptions["optimizer"];

/** Seeded training of a classifier with uneven shapes (edge tiles, a one-input layer). */
async function trained(
  backend: KernelBackend,
  fused: boolean,
  threads: 1 | 2,
  optimizer: Optimizer,
) {
  const r = new Random(5);
  const rows = 203;
  const inputs = new Float32Array(rows * 13).map(() =>
    r.uniform() < 0.3 ? 0 : r.uniform() * 2 - 1,
  );
  const labels = new Int32Array(rows).map((_, i) => (inputs[i * 13]! > 0 ? 1 : 0) + (i % 2));
  const net = createNetwork(
    {
      inputs: 13,
      layers: [
        { units: 37, activation: "relu" },
        { units: 1, activation: "tanh" },
        { units: 19, activation: "elu" },
        { units: 3, activation: "softmax" },
      ],
    },
    { seed: 4, kernels: backend },
  );
  expect(net.kernels.backend).toBe(backend);
  if (!fused) net.useKernels(unfused(net.kernels));
  const result = await train(net, { inputs, rows, labels }, {
    loss: "sparseCategoricalCrossentropy",
    optimizer,
    epochs: 3,
    batchSize: 29,
    seed: 2,
    threads,
    storeOptimizerState: true,
  } as TrainOptions);
  const P = net.parameterBlock;
  const w0 = net.layers[0]!;
  return {
    // The fused step never stores a weight gradient in the arena: how a run shows it took it.
    storedGradients: net.memory
      .subarray(w0.weights + P, w0.weights + P + w0.inputs * w0.units)
      .some((v) => v !== 0),
    weights: bits(net.memory.slice(0, net.parameterBlock)),
    state: bits(result.optimizerState ?? new Uint8Array(0)),
    history: result.history.map((h) => [h.loss, h.accuracy]),
  };
}

const OPTIMIZERS: [string, Optimizer][] = [
  ["adam", { name: "adam", learningRate: 0.01 }],
  ["adam with weight decay", { name: "adam", learningRate: 0.01, weightDecay: 0.05 }],
  ["adamw", { name: "adamw", learningRate: 0.01, weightDecay: 0.1 }],
];

describe.runIf(nativeAddon() !== null)("the fused step", () => {
  for (const [what, optimizer] of OPTIMIZERS) {
    it(`gives the unfused path's weights, moments and losses bit for bit (${what}), every copy, 1 and 2 threads`, async () => {
      const reference = await trained(`native-${nativeIsas()[0]!}`, false, 1, optimizer);
      expect(reference.state.length).toBeGreaterThan(0);
      expect(reference.storedGradients).toBe(true);
      for (const isa of nativeIsas()) {
        for (const threads of [1, 2] as const) {
          const run = await trained(`native-${isa}`, true, threads, optimizer);
          const label = `${isa}, ${threads} threads`;
          expect(run.storedGradients, label).toBe(false);
          expect(run.weights.equals(reference.weights), label).toBe(true);
          expect(run.state.equals(reference.state), label).toBe(true);
          expect(run.history, label).toEqual(reference.history);
        }
      }
    }, 60_000);
  }

  it("gathers a batch's rows as the JavaScript copy does", () => {
    const k = nativeKernels("native")!;
    const data = new Float32Array(50 * 7).map((_, i) => i * 0.5);
    const order = Int32Array.from([49, 0, 3, 3, 17]);
    const m = new Float32Array(40);
    k.gatherRows!(m, 2, data, order, 1, 4, 7);
    const want = [0, 3, 3, 17].flatMap((row) => [...data.subarray(row * 7, row * 7 + 7)]);
    expect([...m.subarray(2, 30)]).toEqual(want);
    expect(m[1]).toBe(0);
    expect(m[30]).toBe(0);
  });
});

describe("prediction's input check", () => {
  it("names the first value that is not finite, on the native copies (checked as copied) and on JavaScript", () => {
    for (const backend of [...nativeIsas().map((isa) => `native-${isa}` as const), "js"] as const) {
      const net = createNetwork(
        { inputs: 3, layers: [{ units: 2, activation: "softmax" }] },
        { kernels: backend },
      );
      const rows = 6000; // chunks of 256 (checked as copied, natively): the bad value in the second
      const x = new Float32Array(rows * 3).fill(0.5);
      expect(
        net.predict(x, rows).every((v) => Number.isFinite(v)),
        backend,
      ).toBe(true);
      x[280 * 3 + 2] = Number.NaN;
      expect(() => net.predict(x, rows), backend).toThrow(
        /inputs\[280\]\[2\]: must be finite, got NaN/,
      );
      x[280 * 3 + 2] = Number.NEGATIVE_INFINITY;
      expect(() => net.predict(x, rows), backend).toThrow(
        /inputs\[280\]\[2\]: must be finite, got -Infinity/,
      );
    }
  });

  it.runIf(nativeAddon() !== null)(
    "copies every value and tells a NaN or ±Infinity anywhere (copyFinite)",
    () => {
      const k = nativeKernels("native")!;
      for (const n of [1, 15, 16, 17, 64, 65, 200]) {
        const src = new Float32Array(n + 3).map((_, i) => i - 7.5);
        const m = new Float32Array(n + 10);
        expect(k.copyFinite!(m, 4, src, 3, n), `n=${n}`).toBe(true);
        expect([...m.subarray(4, 4 + n)]).toEqual([...src.subarray(3, 3 + n)]);
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
          src[3 + n - 1] = bad;
          expect(k.copyFinite!(m, 4, src, 3, n), `n=${n} ${bad}`).toBe(false);
          src[3 + n - 1] = 0;
        }
      }
    },
  );
});

describe.runIf(nativeAddon() !== null)(
  "a bad argument to weightSteps, gatherRows or copyFinite",
  () => {
    const k = nativeAddon()!.kernels(nativeIsas()[0]!);
    const m = new Float32Array(400);
    const counter = new Int32Array(1);
    // One chunk: x at 0 (2 rows × 3), dz at 6 (2 × 4), W at 20 (3 × 4), b at 32; P = 50.
    const chunk = [0, 6, 20, 32, 3, 4, 0, 3, 1];
    const steps = (list: number[], chunks = 1, P = 50, c = counter, slot = 0) =>
      k.weightSteps(
        m,
        Int32Array.from(list),
        chunks,
        c,
        slot,
        2,
        P,
        0.1,
        0.9,
        0.999,
        1e-8,
        0,
        false,
        1,
        0.1,
        0.001,
      );
    const cases: [string, () => unknown, RegExp][] = [
      ["moments past the arena", () => steps(chunk, 1, 200), /outside the arena of 400 floats/],
      ["a negative field", () => steps([0, 6, -20, 32, 3, 4, 0, 3, 1]), /field 2 is negative/],
      ["rows of dW past K", () => steps([0, 6, 20, 32, 3, 4, 0, 4, 1]), /not within \[0, K = 3\)/],
      ["more chunks than the list holds", () => steps(chunk, 2), /holds 1 chunks, not 2/],
      [
        "a slot past the counter",
        () => steps(chunk, 1, 50, counter, 1),
        /slot 1 is past the counter/,
      ],
      [
        "a Float32Array counter",
        () => steps(chunk, 1, 50, new Float32Array(1) as never),
        /Int32Array/,
      ],
      [
        "a row of order past the data",
        () => k.gatherRows(m, 0, new Float32Array(14), Int32Array.from([0, 2]), 0, 2, 7),
        /order\[1\] = 2 is not a row of data \(2 rows\)/,
      ],
      [
        "order read past its end",
        () => k.gatherRows(m, 0, new Float32Array(14), Int32Array.from([0]), 0, 2, 7),
        /order \[0, 2\) lies past its 1 entries/,
      ],
      [
        "a destination past the arena",
        () => k.gatherRows(m, 395, new Float32Array(14), Int32Array.from([0]), 0, 1, 7),
        /outside the arena/,
      ],
      [
        "a source range past its end",
        () => k.copyFinite(m, 0, new Float32Array(10), 5, 6),
        /src \[5, 11\) lies past its 10 values/,
      ],
      [
        "a copy past the arena",
        () => k.copyFinite(m, 395, new Float32Array(10), 0, 6),
        /outside the arena/,
      ],
    ];
    for (const [what, call, message] of cases) {
      it(`throws (${what}) and leaves the arena as it was`, () => {
        m.fill(1.25);
        counter[0] = 0;
        expect(call).toThrow(message);
        expect(m.every((v) => v === 1.25)).toBe(true);
      });
    }
  },
);
