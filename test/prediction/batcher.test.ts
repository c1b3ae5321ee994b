import { describe, expect, it } from "vitest";
import { Batcher, type BatchRun } from "../../src/prediction/batcher.ts";

/** A "network" of width 2 and 3 units: row [a, b] -> [a + b, a - b, a * b]. */
function fakeRun(passes: number[], delayMs = 0): BatchRun {
  return async (inputs, rows) => {
    passes.push(rows);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const out = new Float32Array(rows * 3);
    for (let r = 0; r < rows; r++) {
      const a = inputs[r * 2]!;
      const b = inputs[r * 2 + 1]!;
      out.set([a + b, a - b, a * b], r * 3);
    }
    return out;
  };
}

const rowsOf = (caller: number, count: number) =>
  Float32Array.from({ length: count * 2 }, (_, i) => caller * 100 + i);

function expected(inputs: Float32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < inputs.length; i += 2) {
    const a = inputs[i]!;
    const b = inputs[i + 1]!;
    out.push(a + b, a - b, Math.fround(a * b));
  }
  return out;
}

describe("Batcher", () => {
  it("gives many concurrent callers exactly their own rows' outputs, in order", async () => {
    const passes: number[] = [];
    const batcher = new Batcher({
      width: 2,
      units: 3,
      maxBatchSize: 16,
      maxDelayMs: 5,
      run: fakeRun(passes, 1),
    });
    const inputs = Array.from({ length: 100 }, (_, caller) => rowsOf(caller, 1 + (caller % 4)));
    const outputs = await Promise.all(inputs.map((x, i) => batcher.predict(x, 1 + (i % 4))));
    for (let i = 0; i < inputs.length; i++) {
      expect(Array.from(outputs[i]!)).toEqual(expected(inputs[i]!));
    }
    // Coalesced: fewer passes than callers, none larger than the maximum, every row run once.
    expect(passes.length).toBeLessThan(inputs.length);
    expect(Math.max(...passes)).toBeLessThanOrEqual(16);
    expect(passes.reduce((a, b) => a + b, 0)).toBe(inputs.reduce((n, x) => n + x.length / 2, 0));
  });

  it("runs a request at once when requests come one at a time", () => {
    const passes: number[] = [];
    const batcher = new Batcher({
      width: 2,
      units: 3,
      maxBatchSize: 64,
      maxDelayMs: 1000,
      run: fakeRun(passes),
    });
    void batcher.predict(rowsOf(1, 1), 1);
    // Started before predict returned: no window, no wait for the end of the loop turn.
    expect(passes).toEqual([1]);
  });

  it("runs requests that arrive in one event-loop turn as one pass, once they come in bursts", async () => {
    const passes: number[] = [];
    const batcher = new Batcher({
      width: 2,
      units: 3,
      maxBatchSize: 64,
      maxDelayMs: 1000,
      run: fakeRun(passes),
    });
    const burst = () =>
      Promise.all([1, 2, 3].map((caller) => batcher.predict(rowsOf(caller, 2), 2)));
    // After a quiet spell the first request runs at once and the others of its turn join up.
    await burst();
    expect(passes).toEqual([2, 4]);
    // The turn before was busy: the whole turn goes as one pass.
    await burst();
    expect(passes).toEqual([2, 4, 6]);
  });

  it("does not hold a lone request for the delay", async () => {
    const passes: number[] = [];
    const batcher = new Batcher({
      width: 2,
      units: 3,
      maxBatchSize: 64,
      // Were the lone request held for the delay, the test would time out.
      maxDelayMs: 60_000,
      run: fakeRun(passes),
    });
    const out = await batcher.predict(rowsOf(1, 1), 1);
    expect(Array.from(out)).toEqual(expected(rowsOf(1, 1)));
    expect(passes).toEqual([1]);
  });

  it("gathers requests while a pass runs and sends them as soon as it ends", async () => {
    const passes: number[] = [];
    // The first pass is held until the others have arrived: a signal, not a timing guess.
    let started!: () => void;
    let release!: () => void;
    const firstStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const compute = fakeRun(passes);
    const batcher = new Batcher({
      width: 2,
      units: 3,
      maxBatchSize: 64,
      maxDelayMs: 60_000,
      run: async (inputs, rows) => {
        if (passes.length === 0) {
          started();
          await held;
        }
        return compute(inputs, rows);
      },
    });
    const first = batcher.predict(rowsOf(0, 1), 1);
    await firstStarted;
    const later = [1, 2, 3, 4].map((caller) => batcher.predict(rowsOf(caller, 1), 1));
    release();
    await Promise.all([first, ...later]);
    expect(passes).toEqual([1, 4]);
  });

  it("never splits a request and never exceeds the maximum batch size", async () => {
    const passes: number[] = [];
    const batcher = new Batcher({
      width: 2,
      units: 3,
      maxBatchSize: 4,
      maxDelayMs: 10,
      run: fakeRun(passes),
    });
    const sizes = [3, 3, 1, 6, 2, 2];
    const inputs = sizes.map((n, caller) => rowsOf(caller, n));
    const outputs = await Promise.all(inputs.map((x, i) => batcher.predict(x, sizes[i]!)));
    for (let i = 0; i < inputs.length; i++) {
      expect(Array.from(outputs[i]!)).toEqual(expected(inputs[i]!));
    }
    expect(passes).toContain(6); // the oversized request ran alone
    for (const rows of passes.filter((n) => n !== 6)) expect(rows).toBeLessThanOrEqual(4);
  });

  it("runs every request alone when the delay is 0", async () => {
    const passes: number[] = [];
    const batcher = new Batcher({
      width: 2,
      units: 3,
      maxBatchSize: 64,
      maxDelayMs: 0,
      run: fakeRun(passes),
    });
    await Promise.all([1, 2, 3].map((caller) => batcher.predict(rowsOf(caller, 1), 1)));
    expect(passes).toEqual([1, 1, 1]);
  });

  it("rejects every caller of a failed pass, and keeps serving", async () => {
    let fail = true;
    const batcher = new Batcher({
      width: 2,
      units: 3,
      maxBatchSize: 64,
      maxDelayMs: 5,
      run: (inputs, rows) => {
        if (fail) throw new Error("boom");
        return fakeRun([])(inputs, rows);
      },
    });
    const results = await Promise.allSettled([1, 2].map((c) => batcher.predict(rowsOf(c, 1), 1)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(Array.from(await batcher.predict(rowsOf(3, 1), 1))).toEqual(expected(rowsOf(3, 1)));
  });

  it("reports batch sizes and queue times to its observer", async () => {
    const batches: [number, number][] = [];
    const queued: number[] = [];
    const batcher = new Batcher({
      width: 2,
      units: 3,
      maxBatchSize: 64,
      maxDelayMs: 5,
      run: fakeRun([]),
      observer: {
        batch: (rows, requests) => batches.push([rows, requests]),
        queued: (s) => queued.push(s),
      },
    });
    await Promise.all([1, 2].map((c) => batcher.predict(rowsOf(c, 2), 2)));
    expect(batches).toEqual([
      [2, 1],
      [2, 1],
    ]);
    await Promise.all([1, 2].map((c) => batcher.predict(rowsOf(c, 2), 2)));
    expect(batches.at(-1)).toEqual([4, 2]);
    expect(queued).toHaveLength(4);
    for (const s of queued) expect(s).toBeGreaterThanOrEqual(0);
  });
});
