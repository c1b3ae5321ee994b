/**
 * Test databases on the shared test server: each is created with its owner (host and pid) in
 * its comment, so a later run can tell the databases of a test process that was killed (and
 * never dropped its own) from those of a run still going on the same server.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import pg from "pg";

export const TEST_DATABASE_PREFIX = "nnserve_t_";

interface Owner {
  host: string;
  pid: number;
}

/** Creates an empty database named nnserve_t_<random>, owned by this process. */
export async function createOwnedDatabase(adminUrl: string): Promise<string> {
  const name = `${TEST_DATABASE_PREFIX}${randomBytes(6).toString("hex")}`;
  const owner: Owner = { host: hostname(), pid: process.pid };
  await withClient(adminUrl, async (client) => {
    await client.query(`CREATE DATABASE "${name}"`);
    await client.query(
      `COMMENT ON DATABASE "${name}" IS ${client.escapeLiteral(JSON.stringify(owner))}`,
    );
  });
  return name;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Drops the test databases whose creating process, on this host, is gone. Those of live
 * processes (a concurrent run), of other hosts and without an owner are left alone.
 */
export async function dropStaleTestDatabases(adminUrl: string): Promise<string[]> {
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ name: string; comment: string | null }>(
      `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment
         FROM pg_database WHERE starts_with(datname, $1)`,
      [TEST_DATABASE_PREFIX],
    );
    const dropped: string[] = [];
    for (const { name, comment } of rows) {
      let owner: Partial<Owner>;
      try {
        owner = JSON.parse(comment ?? "null") ?? {};
      } catch {
        continue;
      }
      if (owner.host !== hostname() || typeof owner.pid !== "number" || alive(owner.pid)) continue;
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      dropped.push(name);
    }
    return dropped;
  });
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
