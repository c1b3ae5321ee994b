/**
 * ThreadChoice (src/engine/thread-choice.ts): two-thread training runs each batch on both threads
 * or on the main one alone, whichever was faster lately, and tries the other now and then.
 */
import { describe, expect, it } from "vitest";
import { ThreadChoice } from "../../src/engine/thread-choice.ts";

/** Runs `batches` batches, each mode taking its ms for 64 rows; returns the modes chosen. */
function run(
  choice: ThreadChoice,
  batches: number,
  ms: { both: number; alone: number },
): boolean[] {
  const modes: boolean[] = [];
  for (let b = 0; b < batches; b++) {
    const alone = choice.alone();
    modes.push(alone);
    choice.record(alone ? ms.alone : ms.both, 64);
  }
  return modes;
}

describe("choosing one thread or two for a batch", () => {
  it("stays on both threads when they are faster, trying the main thread alone a few batches in 40", () => {
    const modes = run(new ThreadChoice(), 120, { both: 0.6, alone: 0.9 });
    expect(modes.filter((a) => a).length).toBe(12);
    expect(modes.slice(0, 4)).toEqual([false, false, false, false]);
  });

  it("moves to the main thread alone when the helper slows the batches, and back when it no longer does", () => {
    const choice = new ThreadChoice();
    const busy = run(choice, 80, { both: 1.4, alone: 0.9 });
    // After the first try of one thread, both threads run only in the tries (4 in 40).
    expect(busy.slice(8).filter((a) => !a).length).toBeLessThanOrEqual(8);
    const idle = run(choice, 120, { both: 0.6, alone: 0.9 });
    expect(idle.slice(40).filter((a) => a).length).toBeLessThanOrEqual(8);
  });
});
