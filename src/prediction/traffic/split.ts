/**
 * A canary split: versions with integer weights summing to 100. A request lands in a bucket
 * 0-99, from its routing key (sticky-hash.ts) or at random, and the bucket picks the version
 * whose cumulative weight range holds it.
 */
import { stickyBucket } from "./sticky-hash.ts";

export interface SplitEntry {
  version: number;
  weight: number;
}

export interface Split {
  /** Changes with every write of the split: part of the sticky hash. */
  revision: string;
  entries: readonly SplitEntry[];
  /** Route by the request's routing key when it has one. */
  sticky: boolean;
  /** Gets a copy of each routed request; never answers. */
  shadow: number | null;
}

/** A uniform number in [0, 1): Math.random in production, a seeded stream in tests. */
export type RandomSource = () => number;

export function pickVersion(split: Split, routingKey: string | undefined, random: RandomSource) {
  const bucket =
    split.sticky && routingKey !== undefined
      ? stickyBucket(split.revision, routingKey)
      : Math.floor(random() * 100);
  let upTo = 0;
  for (const entry of split.entries) {
    upTo += entry.weight;
    if (bucket < upTo) return entry.version;
  }
  // Weights sum to 100 (checked on write), so only a rounding of random() near 1 lands here.
  return split.entries.at(-1)!.version;
}
