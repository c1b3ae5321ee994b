/**
 * Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter
 * Tuning", MLSys 2020), as a pure function of the trials' states: given what has been recorded
 * at each rung, which trials to promote, start and prune now. The conductor calls it under the
 * study's row lock and carries out what it returns, so a decision is made once however many
 * replicas ask at the same moment.
 *
 * A free slot goes, as in the paper's get_job, to the best trial of the highest rung that is in
 * its rung's top 1/η and has not gone on yet; failing that, to the next trial not started. No
 * trial waits for stragglers: the top 1/η is of the results recorded so far. A paused trial is
 * pruned as soon as it can no longer enter its rung's top 1/η, however the trials still able to
 * reach that rung end.
 *
 * One departure, for a finite budget: when every trial has been started, none is training and
 * none has reached the top rung, the best paused trial of the highest rung goes on anyway. A
 * rung whose top 1/η rounds down to nobody (10 trials, η 3: 10 -> 3 -> 1 -> floor(1/3) = 0)
 * would otherwise end the study without a single trial trained to maxEpochs.
 */
import type { Direction, TrialStatus } from "./schemas.ts";

export interface TrialState {
  trial: number;
  status: TrialStatus;
  /** The objective recorded at rungs 0, 1, ...; null when it was not finite (worst). */
  results: readonly (number | null)[];
}

export interface AshaInput {
  trials: readonly TrialState[];
  /** Rung epochs (rungs.ts); the last is the top rung. */
  rungs: readonly number[];
  eta: number;
  direction: Direction;
  /** Segments that may be queued or running at once. */
  maxConcurrent: number;
}

export type AshaAction =
  | { type: "start"; trial: number }
  | { type: "promote"; trial: number; toRung: number }
  | { type: "prune"; trial: number; rung: number };

export interface AshaDecision {
  /** In the order they were decided: starts and promotions fill free slots, then prunes. */
  actions: AshaAction[];
  /** Nothing is left to run or wait for: the study is over. */
  finished: boolean;
}

const ACTIVE: readonly TrialStatus[] = ["running", "promoted"];
/** Trials that may still record a result at a rung above the one they are at. */
const OPEN: readonly TrialStatus[] = ["pending", "running", "promoted", "paused"];

/** Best first: the direction's order, a missing (diverged) result last, ties by trial number. */
export function compareResults(direction: Direction) {
  return (
    a: { trial: number; metric: number | null },
    b: { trial: number; metric: number | null },
  ) => {
    const x = a.metric;
    const y = b.metric;
    if (x === null || Number.isNaN(x)) return y === null || Number.isNaN(y) ? a.trial - b.trial : 1;
    if (y === null || Number.isNaN(y)) return -1;
    if (x !== y) return direction === "minimize" ? x - y : y - x;
    return a.trial - b.trial;
  };
}

/** Each rung's results, best first. */
function ranked(input: AshaInput, states: Map<number, Mutable>): Mutable[][] {
  const order = compareResults(input.direction);
  return input.rungs.map((_, k) =>
    [...states.values()]
      .filter((t) => t.results.length > k)
      .sort((a, b) =>
        order({ trial: a.trial, metric: a.results[k]! }, { trial: b.trial, metric: b.results[k]! }),
      ),
  );
}

interface Mutable {
  trial: number;
  status: TrialStatus;
  results: readonly (number | null)[];
}

export function decide(input: AshaInput): AshaDecision {
  const states = new Map<number, Mutable>(input.trials.map((t) => [t.trial, { ...t }]));
  const byRung = ranked(input, states);
  const top = input.rungs.length - 1;
  const actions: AshaAction[] = [];
  let active = [...states.values()].filter((t) => ACTIVE.includes(t.status)).length;
  const pending = [...states.values()]
    .filter((t) => t.status === "pending")
    .sort((a, b) => a.trial - b.trial);

  while (active < input.maxConcurrent) {
    const promotion =
      nextPromotion(byRung, top, input.eta) ??
      (active === 0 && pending.length === 0 ? lastStand(states, byRung, top) : null);
    if (promotion) {
      promotion.trial.status = "promoted";
      actions.push({ type: "promote", trial: promotion.trial.trial, toRung: promotion.toRung });
    } else {
      const next = pending.shift();
      if (!next) break;
      next.status = "running";
      actions.push({ type: "start", trial: next.trial });
    }
    active++;
  }

  // The trial a last stand would take on is kept, not pruned by a quota of nobody.
  const kept = lastStand(states, byRung, top)?.trial;
  for (const [k, rung] of byRung.entries()) {
    if (k === top) continue;
    // The most results this rung can end with: those in, plus every open trial below it.
    const reachable =
      rung.length +
      [...states.values()].filter((t) => OPEN.includes(t.status) && t.results.length <= k).length;
    const quota = Math.floor(reachable / input.eta);
    rung.forEach((t, rank) => {
      if (t.status === "paused" && t.results.length === k + 1 && rank >= quota && t !== kept) {
        t.status = "pruned";
        actions.push({ type: "prune", trial: t.trial, rung: k });
      }
    });
  }

  const finished = ![...states.values()].some((t) => OPEN.includes(t.status));
  return { actions, finished };
}

/** The best paused trial in its rung's top 1/η, from the highest rung down. */
function nextPromotion(
  byRung: Mutable[][],
  top: number,
  eta: number,
): { trial: Mutable; toRung: number } | null {
  for (let k = top - 1; k >= 0; k--) {
    const rung = byRung[k]!;
    const quota = Math.floor(rung.length / eta);
    for (let rank = 0; rank < quota; rank++) {
      const t = rung[rank]!;
      if (t.status === "paused" && t.results.length === k + 1) return { trial: t, toRung: k + 1 };
    }
  }
  return null;
}

/**
 * The top rung is empty and no segment in flight is heading past the highest rung with a
 * paused trial: that rung's best, so that the study ends with a trial trained to maxEpochs
 * (the loop takes it on only when nothing runs and nothing is left to start).
 */
function lastStand(
  states: Map<number, Mutable>,
  byRung: Mutable[][],
  top: number,
): { trial: Mutable; toRung: number } | null {
  if (byRung[top]!.length > 0) return null;
  let heading = -1;
  for (const t of states.values()) {
    if (ACTIVE.includes(t.status)) heading = Math.max(heading, t.results.length);
  }
  for (let k = top - 1; k >= 0 && k >= heading; k--) {
    const best = byRung[k]!.find((t) => t.status === "paused" && t.results.length === k + 1);
    if (best) return { trial: best, toRung: k + 1 };
    // A higher rung's trials all pruned or failed: a lower rung's best is not tried instead.
    if (byRung[k]!.length > 0) return null;
  }
  return null;
}
