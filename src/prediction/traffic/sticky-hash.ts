/**
 * The bucket (0-99) of a routing key under one split: the first 32 bits of the sha256 of the
 * split's revision and the key. The same on every replica and platform, so a key always reaches
 * the same version while the split stands; a new split (a new revision) reshuffles. sha256
 * rather than FNV-1a: keys that differ only in their last characters (customer-1, customer-2)
 * land in FNV-1a's top bits unevenly, and a hash costs a microsecond next to a prediction.
 */
import { createHash } from "node:crypto";

export function stickyBucket(revision: string, routingKey: string): number {
  const digest = createHash("sha256").update(revision).update("\u0000").update(routingKey).digest();
  return Math.floor((digest.readUInt32BE(0) / 2 ** 32) * 100);
}
