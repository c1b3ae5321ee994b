import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDatabase } from "../../../src/platform/db/client.ts";
import { defaultMigrationsDir, readMigrations } from "../../../src/platform/db/migrations.ts";
import {
  isUpToDate,
  MigrationError,
  migrate,
  pendingMigrations,
} from "../../../src/platform/db/migrator.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";

// Each test starts from an empty database of its own: the migrator's subject is the empty state.
let db: TestDatabase;
let migrationsDir: string;

beforeEach(async () => {
  db = await createTestDatabase({ migrate: false });
  migrationsDir = await mkdtemp(join(tmpdir(), "nnserve-migrations-"));
  await cp(defaultMigrationsDir, migrationsDir, { recursive: true });
});

afterEach(async () => {
  await db.close();
  await rm(migrationsDir, { recursive: true, force: true });
});

async function recorded() {
  const result = await db.pool.query(
    `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at,
            applied_steps_count
       FROM _prisma_migrations ORDER BY migration_name`,
  );
  return result.rows;
}

describe("migrate", () => {
  it("applies every migration to an empty database and records it as Prisma does", async () => {
    const files = await readMigrations(migrationsDir);
    expect(files.length).toBeGreaterThan(0);

    const applied = await migrate({ pool: db.pool, migrationsDir });

    expect(applied).toEqual(files.map((file) => file.name));
    const rows = await recorded();
    expect(rows).toHaveLength(files.length);
    for (const [i, row] of rows.entries()) {
      const bytes = await readFile(join(migrationsDir, files[i]!.name, "migration.sql"));
      expect(row.migration_name).toBe(files[i]!.name);
      expect(row.checksum).toBe(createHash("sha256").update(bytes).digest("hex"));
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.started_at.getTime()).toBeLessThanOrEqual(row.finished_at.getTime());
      expect(row.applied_steps_count).toBe(1);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
    }
    const tables = await db.pool.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    expect(tables.rows.map((row) => row.table_name)).toContain("training_jobs");
  });

  it("creates _prisma_migrations with the columns Prisma creates", async () => {
    await migrate({ pool: db.pool, migrationsDir });
    const columns = await db.pool.query(
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations'
        ORDER BY ordinal_position`,
    );
    expect(columns.rows).toEqual([
      col("id", "character varying", 36, "NO"),
      col("checksum", "character varying", 64, "NO"),
      col("finished_at", "timestamp with time zone", null, "YES"),
      col("migration_name", "character varying", 255, "NO"),
      col("logs", "text", null, "YES"),
      col("rolled_back_at", "timestamp with time zone", null, "YES"),
      col("started_at", "timestamp with time zone", null, "NO", "now()"),
      col("applied_steps_count", "integer", null, "NO", "0"),
    ]);
  });

  it("does nothing when run again", async () => {
    await migrate({ pool: db.pool, migrationsDir });
    const before = await recorded();

    expect(await migrate({ pool: db.pool, migrationsDir })).toEqual([]);
    expect(await recorded()).toEqual(before);
  });

  it("applies each migration once when two processes migrate at the same time", async () => {
    // Separate pools stand for separate processes: the advisory lock must serialise them.
    const other = createDatabase({ url: db.url, poolSize: 2 });
    try {
      const [first, second] = await Promise.all([
        migrate({ pool: db.pool, migrationsDir }),
        migrate({ pool: other.pool, migrationsDir }),
      ]);
      const files = await readMigrations(migrationsDir);
      expect([...first, ...second].sort()).toEqual(files.map((file) => file.name));
      expect(await recorded()).toHaveLength(files.length);
    } finally {
      await other.close();
    }
  });

  it("reports pending migrations for readiness until they are applied", async () => {
    const names = (await readMigrations(migrationsDir)).map((file) => file.name);
    expect(await pendingMigrations({ pool: db.pool, migrationsDir })).toEqual(names);
    expect(await isUpToDate({ pool: db.pool, migrationsDir })).toBe(false);

    await migrate({ pool: db.pool, migrationsDir });

    expect(await pendingMigrations({ pool: db.pool, migrationsDir })).toEqual([]);
    expect(await isUpToDate({ pool: db.pool, migrationsDir })).toBe(true);
  });

  it("applies a new migration added after the first run", async () => {
    await migrate({ pool: db.pool, migrationsDir });
    await addMigration("29991231000000_add_note", 'ALTER TABLE "models" ADD COLUMN "note" TEXT;\n');

    expect(await pendingMigrations({ pool: db.pool, migrationsDir })).toEqual([
      "29991231000000_add_note",
    ]);
    expect(await migrate({ pool: db.pool, migrationsDir })).toEqual(["29991231000000_add_note"]);
  });

  it("refuses to run when an applied migration's file was changed", async () => {
    await migrate({ pool: db.pool, migrationsDir });
    const [first] = await readMigrations(migrationsDir);
    const file = join(migrationsDir, first!.name, "migration.sql");
    await writeFile(file, `${await readFile(file, "utf8")}\n-- edited after the fact\n`);

    await expect(migrate({ pool: db.pool, migrationsDir })).rejects.toThrow(
      new RegExp(`migration ${first!.name} was modified after it was applied`),
    );
    await expect(pendingMigrations({ pool: db.pool, migrationsDir })).rejects.toBeInstanceOf(
      MigrationError,
    );
  });

  it("refuses to run when a migration is recorded as failed", async () => {
    await migrate({ pool: db.pool, migrationsDir });
    // What `prisma migrate deploy` leaves behind when a migration fails halfway.
    await db.pool.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs)
       VALUES (gen_random_uuid(), repeat('0', 64), '29991231000000_broken', 'syntax error')`,
    );

    await expect(migrate({ pool: db.pool, migrationsDir })).rejects.toThrow(
      /29991231000000_broken is recorded as failed/,
    );
  });

  it("rolls a failing migration back entirely and records nothing for it", async () => {
    await migrate({ pool: db.pool, migrationsDir });
    await addMigration(
      "29991231000000_half_broken",
      'CREATE TABLE "scratch" (id INT);\nSELECT * FROM "no_such_table";\n',
    );

    await expect(migrate({ pool: db.pool, migrationsDir })).rejects.toThrow(
      /29991231000000_half_broken failed and was rolled back/,
    );
    const scratch = await db.pool.query("SELECT to_regclass('scratch') AS t");
    expect(scratch.rows[0].t).toBeNull();
    expect((await recorded()).map((row) => row.migration_name)).not.toContain(
      "29991231000000_half_broken",
    );
  });
});

async function addMigration(name: string, sql: string): Promise<void> {
  await mkdir(join(migrationsDir, name));
  await writeFile(join(migrationsDir, name, "migration.sql"), sql);
}

function col(
  name: string,
  type: string,
  length: number | null,
  nullable: "YES" | "NO",
  defaultValue: string | null = null,
) {
  return {
    column_name: name,
    data_type: type,
    character_maximum_length: length,
    is_nullable: nullable,
    column_default: defaultValue,
  };
}
