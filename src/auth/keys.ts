/**
 * API keys as strings: `nns_<prefix>_<secret>`, where the prefix (8 base62 characters) is public
 * and names the key in lists and logs, and the secret is 32 random bytes (base64url). Only the
 * sha256 of the whole key is stored: a key has 256 bits of entropy, so a fast hash is enough
 * (no password stretching needed), and comparing digests in constant time leaks nothing.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";

// deploy: moving aliases and traffic (what serves), apart from train (what is made); metrics:
// reading /metrics (Prometheus).
export const SCOPES = ["predict", "train", "admin", "deploy", "metrics"] as const;
export type Scope = (typeof SCOPES)[number];

const KEY_PATTERN = /^nns_([0-9A-Za-z]{8})_([0-9A-Za-z_-]{43})$/;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export interface NewKey {
  /** The whole key: shown once, never stored. */
  key: string;
  /** `nns_` + 8 characters: stored, listed and logged. */
  prefix: string;
  /** sha256 hex of `key`. */
  hash: string;
}

export function generateKey(): NewKey {
  let id = "";
  for (let i = 0; i < 8; i++) id += BASE62[randomInt(BASE62.length)];
  const prefix = `nns_${id}`;
  const key = `${prefix}_${randomBytes(32).toString("base64url")}`;
  return { key, prefix, hash: hashKey(key) };
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The public prefix of a well-formed key, else undefined (then no lookup is needed). */
export function keyPrefix(key: string): string | undefined {
  const match = KEY_PATTERN.exec(key);
  return match ? `nns_${match[1]}` : undefined;
}

/** Whether `key` hashes to `hash`, compared in constant time. */
export function keyMatches(key: string, hash: string): boolean {
  const actual = Buffer.from(hashKey(key), "hex");
  const expected = Buffer.from(hash, "hex");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** `admin` may do everything; `predict`, `train` and `metrics` only what they name. */
export function allows(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.includes("admin") || scopes.includes(needed);
}

export function parseScopes(text: string): Scope[] {
  return text.split(" ").filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
}

/** The key of an `Authorization: Bearer <key>` value (also a bare key, as gRPC clients send). */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}
