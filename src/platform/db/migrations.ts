import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A directory of prisma/migrations: `<yyyymmddhhmmss>_<name>/migration.sql`. */
export interface MigrationFile {
  name: string;
  sql: string;
  /** sha256 hex of the file's bytes, as Prisma records it in _prisma_migrations.checksum. */
  checksum: string;
}

export const defaultMigrationsDir = fileURLToPath(
  new URL("../../../prisma/migrations", import.meta.url),
);

/** Reads the migrations in the order Prisma applies them: by directory name. */
export async function readMigrations(dir = defaultMigrationsDir): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name, "migration.sql"));
      return {
        name,
        sql: bytes.toString("utf8"),
        checksum: createHash("sha256").update(bytes).digest("hex"),
      };
    }),
  );
}
