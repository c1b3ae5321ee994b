/**
 * The trials' parameters, drawn from the search space with the study's seed. Trial n has its
 * own stream (the seed and n through splitmix), so trial 7's parameters do not depend on how
 * many trials came before or on the order the space's keys were written in: parameters are
 * drawn in the fixed order of SPACE_ORDER.
 */
import { Random } from "../../engine/index.ts";
import type { SearchSpace, SpaceParameter, TrialParams } from "./schemas.ts";

const SPACE_ORDER: readonly SpaceParameter[] = [
  "layers",
  "activation",
  "optimizer",
  "learningRate",
  "dropout",
  "batchSize",
  "weightDecay",
  "labelSmoothing",
];

type Distribution = NonNullable<SearchSpace[SpaceParameter]>;

/** One draw from one distribution. */
export function draw(d: Distribution, random: Random): unknown {
  if (d.choice !== undefined) return structuredClone(d.choice[random.below(d.choice.length)]);
  if (d.uniform !== undefined) {
    const [low, high] = d.uniform;
    return low + (high - low) * random.uniform();
  }
  if (d.logUniform !== undefined) {
    const [low, high] = d.logUniform;
    return Math.exp(Math.log(low) + (Math.log(high) - Math.log(low)) * random.uniform());
  }
  const [low, high] = d.int!;
  return low + random.below(high - low + 1);
}

/** The seed of trial n's stream: the study seed and n, mixed so that near seeds differ. */
export function trialSeed(studySeed: number, trial: number): number {
  return (Math.imul(studySeed >>> 0, 0x9e3779b1) ^ Math.imul(trial, 0x85ebca6b)) >>> 0;
}

export function sampleTrial(space: SearchSpace, studySeed: number, trial: number): TrialParams {
  const random = new Random(trialSeed(studySeed, trial));
  const params: Record<string, unknown> = {};
  for (const key of SPACE_ORDER) {
    const d = space[key];
    // Every parameter takes its draw even when absent, so adding one to a space leaves the
    // others' values for the same seed as they were.
    const value = d ? draw(d, random) : random.uniform();
    if (d) params[key] = value;
  }
  return params as TrialParams;
}

/** Trials 1..count of a study. */
export function sampleTrials(space: SearchSpace, studySeed: number, count: number): TrialParams[] {
  return Array.from({ length: count }, (_, i) => sampleTrial(space, studySeed, i + 1));
}
