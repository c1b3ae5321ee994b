import { describe, expect, it } from "vitest";
import {
  afterDeath,
  FIRST_DELAY_MS,
  HEALTHY_AFTER_MS,
  MAX_DELAY_MS,
  MAX_FAILED_STARTS,
  type SlotHistory,
} from "../../src/cluster/restart-policy.ts";

const fresh: SlotHistory = { failures: 0, failedStarts: 0 };

describe("restarting a serving process that died", () => {
  it("waits the first delay after a first death", () => {
    expect(afterDeath(fresh, 1_000)).toEqual({
      action: "restart",
      delayMs: FIRST_DELAY_MS,
      history: { failures: 1, failedStarts: 0 },
    });
  });

  it("doubles the delay for each death in a row, up to the maximum, never a hot loop", () => {
    let history = fresh;
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const decision = afterDeath(history, 1_000); // each served a second, then died
      if (decision.action !== "restart") throw new Error("expected a restart");
      delays.push(decision.delayMs);
      history = decision.history;
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, MAX_DELAY_MS, 30000, 30000, 30000]);
  });

  it("starts counting again after a process that served for a while", () => {
    const after = afterDeath({ failures: 6, failedStarts: 0 }, HEALTHY_AFTER_MS);
    expect(after).toMatchObject({ action: "restart", delayMs: FIRST_DELAY_MS });
  });

  it("gives up when replacements keep dying before they are ready", () => {
    let history = fresh;
    for (let i = 1; i < MAX_FAILED_STARTS; i++) {
      const decision = afterDeath(history, undefined);
      expect(decision.action).toBe("restart");
      history = decision.history;
    }
    expect(afterDeath(history, undefined)).toMatchObject({
      action: "give-up",
      history: { failedStarts: MAX_FAILED_STARTS },
    });
    // One that became ready in between clears the count of failed starts.
    expect(afterDeath({ failures: 2, failedStarts: 4 }, 10).history.failedStarts).toBe(0);
  });
});
