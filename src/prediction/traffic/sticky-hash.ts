/**
 * The bucket (0-99) of a routing key under one split: 32-bit FNV-1a of the split's revision and
 * the key's UTF-8 bytes. Integer arithmetic only (Math.imul), so every replica, whatever its
 * platform, sends the same key to the same version; a new split (a new revision) reshuffles.
 */
const encoder = new TextEncoder();

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function stickyBucket(revision: string, routingKey: string): number {
  // The top of the range, not `% 100`: FNV-1a's low bits are its weakest.
  return Math.floor((fnv1a32(`${revision}\u0000${routingKey}`) / 2 ** 32) * 100);
}
