import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Logger } from "pino";
import { defaultMigrationsDir, type MigrationFile, readMigrations } from "./migrations.ts";

// Applies prisma/migrations the way `prisma migrate deploy` would, because Prisma's native
// schema engine cannot be installed on our machines. The bookkeeping is Prisma's own
// (_prisma_migrations, same DDL, same checksum), so the Prisma CLI agrees with us wherever its
// engine is available.

/** Prisma's advisory lock key for migrations: holding it also excludes a concurrent Prisma CLI. */
const migrationLockKey = 72707369;

/** The table exactly as Prisma's schema engine creates it. */
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

export interface MigratorOptions {
  pool: pg.Pool;
  logger?: Logger;
  migrationsDir?: string;
}

/**
 * Applies every pending migration, each in its own transaction, under Postgres' advisory lock,
 * so that any number of processes may start at once: the first applies, the others wait and
 * then find nothing to do. Refuses (MigrationError) when an applied migration's file changed or
 * a migration is recorded as failed. Returns the names it applied.
 */
export async function migrate({
  pool,
  logger,
  migrationsDir = defaultMigrationsDir,
}: MigratorOptions): Promise<string[]> {
  const files = await readMigrations(migrationsDir);
  // The advisory lock belongs to a session, so everything runs on one connection.
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [migrationLockKey]);
    try {
      await client.query(createMigrationsTable);
      const pending = planMigrations(files, await appliedRows(client), logger);
      for (const migration of pending) {
        await applyMigration(client, migration);
        logger?.info({ migration: migration.name }, "applied migration");
      }
      return pending.map((migration) => migration.name);
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [migrationLockKey]);
    }
  } finally {
    client.release();
  }
}

/**
 * The migrations not yet applied, for a readiness check; throws MigrationError like migrate()
 * when the database cannot be migrated at all. Takes no lock and creates nothing.
 */
export async function pendingMigrations({
  pool,
  migrationsDir = defaultMigrationsDir,
}: MigratorOptions): Promise<string[]> {
  const files = await readMigrations(migrationsDir);
  const exists = await pool.query<{ exists: boolean }>(
    "SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists",
  );
  const rows = exists.rows[0]?.exists ? await appliedRows(pool) : [];
  return planMigrations(files, rows).map((migration) => migration.name);
}

export async function isUpToDate(options: MigratorOptions): Promise<boolean> {
  return (await pendingMigrations(options)).length === 0;
}

async function appliedRows(db: pg.Pool | pg.PoolClient): Promise<AppliedRow[]> {
  const result = await db.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at
       FROM "_prisma_migrations" ORDER BY started_at`,
  );
  return result.rows;
}

function planMigrations(
  files: MigrationFile[],
  rows: AppliedRow[],
  logger?: Logger,
): MigrationFile[] {
  // A rolled-back row is history: Prisma applies that migration again, and so do we.
  const live = rows.filter((row) => row.rolled_back_at === null);
  const failed = live.find((row) => row.finished_at === null);
  if (failed) {
    throw new MigrationError(
      `migration ${failed.migration_name} is recorded as failed (or is being applied by a process ` +
        "without our lock): repair the database, then mark it with `prisma migrate resolve`",
    );
  }
  const applied = new Map(live.map((row) => [row.migration_name, row.checksum]));
  for (const file of files) {
    const checksum = applied.get(file.name);
    if (checksum !== undefined && checksum !== file.checksum) {
      throw new MigrationError(
        `migration ${file.name} was modified after it was applied (checksum ${checksum} in the ` +
          `database, ${file.checksum} on disk): restore the file and add a new migration instead`,
      );
    }
  }
  const known = new Set(files.map((file) => file.name));
  const unknown = [...applied.keys()].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    // Normal while rolling back a deploy to older code: warn rather than refuse to start.
    logger?.warn({ migrations: unknown }, "database has migrations this code does not know");
  }
  return files.filter((file) => !applied.has(file.name));
}

async function applyMigration(client: pg.PoolClient, migration: MigrationFile): Promise<void> {
  // Prisma runs a migration outside a transaction and records a failure for a human to repair;
  // we run it inside one, so a failure leaves neither schema changes nor a row behind. The price:
  // statements that refuse transactions (CREATE INDEX CONCURRENTLY) cannot be used.
  const id = randomUUID();
  await client.query("BEGIN");
  try {
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at)
       VALUES ($1, $2, $3, now())`,
      [id, migration.checksum, migration.name],
    );
    // Without parameters pg uses the simple query protocol, which runs a multi-statement script.
    await client.query(migration.sql);
    await client.query(
      `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1
        WHERE id = $1`,
      [id],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw new MigrationError(`migration ${migration.name} failed and was rolled back`, {
      cause: error,
    });
  }
}
