/**
 * Training threads give way to the event loop: each sets its own nice value (Linux keeps one per
 * thread), and the main thread, prediction threads and the process keep theirs.
 */
import { getPriority } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { createWorkerPool, type WorkerPool } from "../../../src/platform/threads/pool.ts";

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("training thread priority", () => {
  it("runs training threads at the configured nice value, and only them", async () => {
    const before = getPriority();
    pool = createWorkerPool({ trainingThreads: 1, predictionThreads: 1, trainingThreadNice: 7 });
    // Threads start at the process's value and lower themselves; the OS reports 7 from inside.
    expect(await pool.trainingThreadNice()).toBe(Math.max(7, before));
    expect(getPriority()).toBe(before);
  });

  it("leaves training threads at the process's value when told 0", async () => {
    pool = createWorkerPool({ trainingThreads: 1, predictionThreads: 1, trainingThreadNice: 0 });
    expect(await pool.trainingThreadNice()).toBe(getPriority());
  });
});
