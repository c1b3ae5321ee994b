/** Picking a version from a split: by weight at random (seeded here), or sticky by routing key. */
import { describe, expect, it } from "vitest";
import { Random } from "../../../src/engine/random.ts";
import { pickVersion, type Split } from "../../../src/prediction/traffic/split.ts";
import { stickyBucket } from "../../../src/prediction/traffic/sticky-hash.ts";

const canary = (sticky: boolean, revision = "41"): Split => ({
  revision,
  entries: [
    { version: 3, weight: 90 },
    { version: 4, weight: 10 },
  ],
  sticky,
  shadow: null,
});

function shares(pick: (i: number) => number, n = 2000) {
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const version = pick(i);
    counts.set(version, (counts.get(version) ?? 0) + 1);
  }
  return { v3: (counts.get(3) ?? 0) / n, v4: (counts.get(4) ?? 0) / n };
}

describe("a split", () => {
  it("routes 2,000 unkeyed requests by weight within 3 points (seeded random)", () => {
    for (const seed of [1, 2, 3]) {
      const random = new Random(seed);
      const split = canary(false);
      const { v4 } = shares(() =>
        pickVersion(split, undefined, () => random.nextUint32() / 2 ** 32),
      );
      expect(Math.abs(v4 - 0.1), `seed ${seed}`).toBeLessThanOrEqual(0.03);
    }
  });

  it("routes 2,000 distinct routing keys by weight within 3 points", () => {
    const split = canary(true);
    const { v4 } = shares((i) => pickVersion(split, `customer-${i}`, () => 0));
    expect(Math.abs(v4 - 0.1)).toBeLessThanOrEqual(0.03);
  });

  it("sends a key to the same version every time, and ignores the random source", () => {
    const split = canary(true);
    for (let i = 0; i < 100; i++) {
      const key = `k${i}`;
      expect(pickVersion(split, key, () => 0)).toBe(pickVersion(split, key, () => 0.999));
    }
  });

  it("reshuffles keys when the split's revision changes", () => {
    const moved = Array.from({ length: 200 }, (_, i) => `k${i}`).filter(
      (key) => stickyBucket("41", key) !== stickyBucket("42", key),
    );
    expect(moved.length).toBeGreaterThan(150);
  });

  it("routes a keyless request at random even when sticky", () => {
    expect(pickVersion(canary(true), undefined, () => 0.95)).toBe(4);
    expect(pickVersion(canary(true), undefined, () => 0.05)).toBe(3);
  });

  it("uses every bucket: weights 1/99 put bucket 0 alone on the first version", () => {
    const split: Split = {
      ...canary(false),
      entries: [
        { version: 1, weight: 1 },
        { version: 2, weight: 99 },
      ],
    };
    expect(pickVersion(split, undefined, () => 0)).toBe(1);
    expect(pickVersion(split, undefined, () => 0.01)).toBe(2);
    expect(pickVersion(split, undefined, () => 0.9999999)).toBe(2);
  });
});
