/**
 * ASHA's decisions as a pure function: which trial a free slot goes to (the best of the highest
 * rung first, then the next trial not started), the top 1/η quota of the results so far, when
 * a paused trial is pruned, when the study is over, and random search.
 */
import { describe, expect, it } from "vitest";
import { type AshaInput, decide, type TrialState } from "../../../src/training/studies/asha.ts";

const RUNGS = [1, 3, 9];

function input(trials: TrialState[], overrides: Partial<AshaInput> = {}): AshaInput {
  return { trials, rungs: RUNGS, eta: 3, direction: "minimize", maxConcurrent: 1, ...overrides };
}
const paused = (trial: number, ...results: (number | null)[]): TrialState => ({
  trial,
  status: "paused",
  results,
});
const pending = (trial: number): TrialState => ({ trial, status: "pending", results: [] });
const running = (trial: number, ...results: number[]): TrialState => ({
  trial,
  status: "running",
  results,
});

describe("decide", () => {
  it("starts trials in order while slots are free", () => {
    const d = decide(input([pending(1), pending(2), pending(3)], { maxConcurrent: 2 }));
    expect(d.actions).toEqual([
      { type: "start", trial: 1 },
      { type: "start", trial: 2 },
    ]);
    expect(d.finished).toBe(false);
  });

  it("counts running and promoted trials against maxConcurrent", () => {
    const trials = [running(1), { trial: 2, status: "promoted", results: [0.5] } as TrialState];
    expect(decide(input([...trials, pending(3)], { maxConcurrent: 2 })).actions).toEqual([]);
  });

  it("promotes only within the top 1/η of the results so far", () => {
    // Two results: floor(2/3) = 0 may go on, so the slot starts trial 3 instead (and with
    // four more to come, neither paused trial is out of reach of the top third yet).
    const early = [paused(1, 0.4), paused(2, 0.3), pending(3), pending(4), pending(5), pending(6)];
    expect(decide(input(early)).actions).toEqual([{ type: "start", trial: 3 }]);
    // Three: the best (trial 2) goes on to rung 1.
    const d = decide(input([paused(1, 0.4), paused(2, 0.3), paused(3, 0.5), pending(4)]));
    expect(d.actions[0]).toEqual({ type: "promote", trial: 2, toRung: 1 });
  });

  it("follows the direction: for a metric to maximize the highest goes on", () => {
    const trials = [paused(1, 0.4), paused(2, 0.3), paused(3, 0.5)];
    expect(decide(input(trials, { direction: "maximize" })).actions[0]).toEqual({
      type: "promote",
      trial: 3,
      toRung: 1,
    });
  });

  it("promotes from the highest rung first", () => {
    const trials = [
      paused(1, 0.1, 0.05),
      paused(2, 0.2, 0.3),
      paused(3, 0.3, 0.4),
      ...[4, 5, 6, 7, 8, 9].map((n) => paused(n, 0.5 + n / 100)),
    ];
    // Rung 1 has 3 results: trial 1 (best there) goes to rung 2 before rung 0's candidates.
    const d = decide(input(trials));
    expect(d.actions[0]).toEqual({ type: "promote", trial: 1, toRung: 2 });
  });

  it("puts a diverged result (null) last", () => {
    const trials = [paused(1, null), paused(2, 0.9), paused(3, 0.8)];
    expect(decide(input(trials)).actions[0]).toEqual({ type: "promote", trial: 3, toRung: 1 });
  });

  it("prunes a paused trial once it cannot enter its rung's top 1/η however the rest end", () => {
    // Three results and nothing else to come: quota 1; trials 1 and 3 can never go on.
    const d = decide(input([paused(1, 0.4), paused(2, 0.3), paused(3, 0.5)]));
    expect(d.actions).toEqual([
      { type: "promote", trial: 2, toRung: 1 },
      { type: "prune", trial: 1, rung: 0 },
      { type: "prune", trial: 3, rung: 0 },
    ]);
  });

  it("does not prune while trials still able to reach the rung could raise its quota", () => {
    // Two results, four trials still to reach rung 0: up to 6 results, quota 2; rank 1 may
    // still go on, so nothing is pruned.
    const trials = [paused(1, 0.4), paused(2, 0.3), running(3), pending(4), pending(5), pending(6)];
    const d = decide(input(trials));
    expect(d.actions.filter((a) => a.type === "prune")).toEqual([]);
  });

  it("finishes when no trial is pending, running, promoted or paused", () => {
    const done: TrialState[] = [
      { trial: 1, status: "completed", results: [0.3, 0.2, 0.1] },
      { trial: 2, status: "pruned", results: [0.5] },
      { trial: 3, status: "failed", results: [] },
    ];
    expect(decide(input(done))).toEqual({ actions: [], finished: true });
    expect(decide(input([...done, running(4)])).finished).toBe(false);
  });

  it("ends with the last prunes in the same decision", () => {
    const d = decide(
      input([
        { trial: 1, status: "completed", results: [0.1, 0.1, 0.1] },
        paused(2, 0.9),
        paused(3, 0.8),
      ]),
    );
    // In rank order: 0.8 before 0.9.
    expect(d.actions).toEqual([
      { type: "prune", trial: 3, rung: 0 },
      { type: "prune", trial: 2, rung: 0 },
    ]);
    expect(d.finished).toBe(true);
  });

  it("random search: starts trials, never promotes or prunes, finishes when all completed", () => {
    const random = { rungs: [9], maxConcurrent: 2 };
    const d = decide(input([pending(1), pending(2), pending(3)], random));
    expect(d.actions).toEqual([
      { type: "start", trial: 1 },
      { type: "start", trial: 2 },
    ]);
    const later = decide(
      input(
        [
          { trial: 1, status: "completed", results: [0.9] },
          { trial: 2, status: "completed", results: [0.1] },
          pending(3),
        ],
        random,
      ),
    );
    expect(later.actions).toEqual([{ type: "start", trial: 3 }]);
    const done = decide(
      input(
        [1, 2, 3].map((n) => ({ trial: n, status: "completed" as const, results: [n] })),
        random,
      ),
    );
    expect(done).toEqual({ actions: [], finished: true });
  });
});

describe("the last stand of a finite budget", () => {
  it("takes the best of the highest rung to the top when a quota rounds down to nobody", () => {
    // 10 trials, η 3: rung 0 keeps 3, rung 1 keeps floor(3/3) = 1, rung 2 keeps floor(1/3) = 0.
    const rungs = [1, 3, 9, 27];
    const trials: TrialState[] = Array.from({ length: 10 }, (_, i) => ({
      trial: i + 1,
      status: "pending",
      results: [],
    }));
    const quality = [0.9, 0.2, 0.7, 0.5, 0.8, 0.1, 0.6, 0.4, 0.3, 0.95];
    let spent = 0;
    for (let round = 0; round < 100; round++) {
      const d = decide({ trials, rungs, eta: 3, direction: "minimize", maxConcurrent: 2 });
      const started: TrialState[] = [];
      for (const a of d.actions) {
        const t = trials[a.trial - 1]!;
        t.status = a.type === "prune" ? "pruned" : a.type === "start" ? "running" : "promoted";
        if (a.type !== "prune") started.push(t);
      }
      if (d.finished) break;
      // The first segment in flight ends: its trial records the rung it trained to.
      const t = trials.find((x) => x.status === "running" || x.status === "promoted")!;
      const k = t.results.length;
      spent += rungs[k]! - (k > 0 ? rungs[k - 1]! : 0);
      t.results = [...t.results, quality[t.trial - 1]!];
      t.status = k + 1 === rungs.length ? "completed" : "paused";
    }
    const completed = trials.filter((t) => t.status === "completed");
    expect(completed.map((t) => t.trial)).toEqual([6]);
    expect(trials.every((t) => t.status === "completed" || t.status === "pruned")).toBe(true);
    expect(spent).toBeLessThan(10 * 27);
  });

  it("does not run once a trial has reached the top rung", () => {
    const trials = [
      { trial: 1, status: "completed", results: [0.1, 0.1, 0.1] } as TrialState,
      paused(2, 0.2, 0.3),
      paused(3, 0.5),
      paused(4, 0.6),
    ];
    const d = decide(input(trials));
    expect(d.actions.filter((a) => a.type === "promote")).toEqual([]);
    expect(d.finished).toBe(true);
  });
});
