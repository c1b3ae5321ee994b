import pg from "pg";
import { inject } from "vitest";
import { createDatabase, type Database } from "../../src/platform/db/client.ts";
import { migrate } from "../../src/platform/db/migrator.ts";
import { startTestDatabaseServer, type TestDatabaseServer } from "./database-server.ts";
import { createOwnedDatabase } from "./test-databases.ts";

/** A database of its own for one test file, on the test server; never a mock. */
export interface TestDatabase extends Database {
  name: string;
  url: string;
  /** Closes the connections and drops the database. */
  close(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Apply prisma/migrations (default). The migrator's own tests start from an empty one. */
  migrate?: boolean;
}

// Without the globalSetup (database-global-setup.ts) registered in vitest.config.ts, each test
// file's process finds or starts a server itself, and stops it with its last database.
let ownServer: Promise<TestDatabaseServer> | undefined;
let ownServerUsers = 0;

async function serverUrl(): Promise<string> {
  const provided = inject("testDatabaseServerUrl");
  if (provided) return provided;
  ownServer ??= startTestDatabaseServer();
  ownServerUsers++;
  return (await ownServer).url;
}

async function releaseServer(): Promise<void> {
  if (!ownServer || --ownServerUsers > 0) return;
  const server = ownServer;
  ownServer = undefined;
  await (await server).stop();
}

export async function createTestDatabase({
  migrate: applyMigrations = true,
}: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const admin = await serverUrl();
  const name = await createOwnedDatabase(admin);
  const url = withDatabase(admin, name);
  const db = createDatabase({ url, poolSize: 12 });
  if (applyMigrations) await migrate({ pool: db.pool });
  let closing: Promise<void> | undefined;
  return {
    ...db,
    name,
    url,
    close() {
      closing ??= (async () => {
        await db.close();
        await onServer(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await releaseServer();
      })();
      return closing;
    },
  };
}

/** The URL of another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function onServer(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
