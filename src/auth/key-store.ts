/**
 * API keys in Postgres (table api_keys): create (the key is returned once), list, revoke, and
 * verify a presented key. Verification is cached per process for a few seconds so a busy
 * replica does not read the table on every request; a revocation is seen at once by the replica
 * that made it and within `cacheTtlMs` by the others.
 */
import type { Database } from "../platform/db/client.ts";
import { conflict, notFound } from "../platform/errors.ts";
import { generateKey, keyMatches, keyPrefix, parseScopes, type Scope } from "./keys.ts";
import { PrefixDirectory } from "./prefix-directory.ts";

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Who is calling: a verified, unrevoked key. */
export interface Caller {
  keyId: string;
  prefix: string;
  scopes: Scope[];
}

export interface KeyStore {
  create(input: { name: string; scopes: Scope[] }): Promise<{ key: string; apiKey: ApiKeyView }>;
  list(): Promise<ApiKeyView[]>;
  /** By id or prefix; throws notFound, or conflict when it was already revoked. */
  revoke(idOrPrefix: string): Promise<ApiKeyView>;
  /** The caller a key stands for, or undefined: unknown, malformed or revoked. */
  verify(key: string): Promise<Caller | undefined>;
}

interface Row {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  scopes: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const toView = (row: Row): ApiKeyView => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  scopes: parseScopes(row.scopes),
  createdAt: row.createdAt.toISOString(),
  lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  revokedAt: row.revokedAt?.toISOString() ?? null,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createKeyStore({
  db,
  cacheTtlMs = 5_000,
  lastUsedEveryMs = 60_000,
}: {
  db: Database;
  cacheTtlMs?: number;
  /** last_used_at is written at most this often per key. */
  lastUsedEveryMs?: number;
}): KeyStore {
  const { prisma } = db;
  const cache = new Map<string, { row: Row | null; until: number }>();
  const lastUsedWritten = new Map<string, number>();
  // An unknown prefix is answered from memory: random keys cost no query each.
  const directory = new PrefixDirectory(async () =>
    (await prisma.apiKey.findMany({ select: { prefix: true } })).map((r) => r.prefix),
  );

  async function find(prefix: string): Promise<Row | null> {
    const now = Date.now();
    const cached = cache.get(prefix);
    if (cached && cached.until > now) return cached.row;
    const row = (await directory.has(prefix))
      ? await prisma.apiKey.findUnique({ where: { prefix } })
      : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(prefix, { row, until: now + cacheTtlMs });
    return row;
  }

  function touch(row: Row): void {
    const now = Date.now();
    if (now - (lastUsedWritten.get(row.id) ?? 0) < lastUsedEveryMs) return;
    lastUsedWritten.set(row.id, now);
    // Bookkeeping only: a failed write must not fail the request.
    prisma.apiKey
      .update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } })
      .catch(() => lastUsedWritten.delete(row.id));
  }

  return {
    async create({ name, scopes }) {
      const { key, prefix, hash } = generateKey();
      const row = await prisma.apiKey.create({
        data: { name, prefix, hash, scopes: [...new Set(scopes)].join(" ") },
      });
      directory.add(prefix);
      return { key, apiKey: toView(row) };
    },

    async list() {
      const rows = await prisma.apiKey.findMany({ orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
      return rows.map(toView);
    },

    async revoke(idOrPrefix) {
      const where = UUID.test(idOrPrefix) ? { id: idOrPrefix } : { prefix: idOrPrefix };
      const row = await prisma.apiKey.findUnique({ where });
      if (!row) throw notFound("API key", idOrPrefix);
      if (row.revokedAt) throw conflict(`API key ${row.prefix} was already revoked.`);
      const revoked = await prisma.apiKey.update({
        where: { id: row.id },
        data: { revokedAt: new Date() },
      });
      cache.delete(row.prefix);
      return toView(revoked);
    },

    async verify(key) {
      const prefix = keyPrefix(key);
      if (!prefix) return undefined;
      const row = await find(prefix);
      if (!row || row.revokedAt || !keyMatches(key, row.hash)) return undefined;
      touch(row);
      return { keyId: row.id, prefix: row.prefix, scopes: parseScopes(row.scopes) };
    },
  };
}
