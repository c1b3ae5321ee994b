/**
 * Successive halving's rungs: a trial is judged after minEpochs·η^k epochs, for each k whose
 * rung stays below maxEpochs, and last after maxEpochs itself (the top rung). 3, 81, η 3 gives
 * 3, 9, 27, 81; 3, 50, η 3 gives 3, 9, 27, 50. Random search judges once, at maxEpochs.
 */
import type { Scheduler } from "./schemas.ts";

export interface RungBudget {
  minEpochs: number;
  maxEpochs: number;
  reductionFactor: number;
}

export function rungEpochs(budget: RungBudget, scheduler: Scheduler = "asha"): number[] {
  const { minEpochs, maxEpochs, reductionFactor } = budget;
  if (minEpochs > maxEpochs) {
    throw new RangeError(`minEpochs ${minEpochs} is more than maxEpochs ${maxEpochs}`);
  }
  if (scheduler === "random") return [maxEpochs];
  const rungs: number[] = [];
  for (let epochs = minEpochs; epochs < maxEpochs; epochs *= reductionFactor) rungs.push(epochs);
  rungs.push(maxEpochs);
  return rungs;
}

/** What every trial trained to maxEpochs would cost: the yardstick of a study's savings. */
export function exhaustiveEpochs(trials: number, maxEpochs: number): number {
  return trials * maxEpochs;
}
