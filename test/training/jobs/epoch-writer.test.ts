import { describe, expect, it } from "vitest";
import { createEpochWriter } from "../../../src/training/jobs/epoch-writer.ts";

interface Epoch {
  epoch: number;
}

/** A store whose writes finish only when the test lets them. */
function gatedStore() {
  const writes: number[][] = [];
  const gates: (() => void)[] = [];
  let owned = true;
  return {
    writes,
    lose: () => {
      owned = false;
    },
    release: () => gates.shift()?.(),
    write: (batch: Epoch[]) =>
      new Promise<boolean>((resolve) => {
        writes.push(batch.map((e) => e.epoch));
        gates.push(() => resolve(owned));
      }),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("the epoch writer", () => {
  it("writes epochs that arrive during a write together, in order, in the next one", async () => {
    const store = gatedStore();
    const writer = createEpochWriter<Epoch>({
      write: store.write,
      shouldStop: () => false,
      onLost: () => {},
      onError: (error) => {
        throw error;
      },
    });
    writer.add({ epoch: 1 });
    for (let epoch = 2; epoch <= 500; epoch++) writer.add({ epoch });
    store.release();
    await tick();
    store.release();
    await writer.drain();
    expect(store.writes).toEqual([[1], Array.from({ length: 499 }, (_, i) => i + 2)]);
  });

  it("ignores an epoch it already took in (the thread's final history repeats them)", async () => {
    const store = gatedStore();
    const writer = createEpochWriter<Epoch>({
      write: store.write,
      shouldStop: () => false,
      onLost: () => {},
      onError: () => {},
    });
    writer.add({ epoch: 1 });
    writer.add({ epoch: 2 });
    for (const epoch of [1, 2, 3]) writer.add({ epoch });
    store.release();
    await tick();
    store.release();
    await writer.drain();
    expect(store.writes).toEqual([[1], [2, 3]]);
  });

  it("drops its backlog once told to stop, and reports a lost job once", async () => {
    const store = gatedStore();
    let stop = false;
    let lost = 0;
    const writer = createEpochWriter<Epoch>({
      write: store.write,
      shouldStop: () => stop,
      onLost: () => lost++,
      onError: () => {},
    });
    writer.add({ epoch: 1 });
    writer.add({ epoch: 2 });
    store.lose();
    store.release();
    await writer.drain();
    expect(lost).toBe(1);
    expect(store.writes).toEqual([[1]]);

    stop = true;
    writer.add({ epoch: 3 });
    await writer.drain();
    expect(store.writes).toEqual([[1]]);
  });

  it("goes on with the next batch after a failed write", async () => {
    const errors: unknown[] = [];
    const written: number[][] = [];
    let calls = 0;
    const writer = createEpochWriter<Epoch>({
      write: async (batch) => {
        if (calls++ === 0) throw new Error("connection reset");
        written.push(batch.map((e) => e.epoch));
        return true;
      },
      shouldStop: () => false,
      onLost: () => {},
      onError: (error) => errors.push(error),
    });
    writer.add({ epoch: 1 });
    await writer.drain();
    writer.add({ epoch: 2 });
    await writer.drain();
    expect(errors).toHaveLength(1);
    expect(written).toEqual([[2]]);
  });
});
