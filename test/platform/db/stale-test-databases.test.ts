/**
 * A test process killed mid-run leaves its nnserve_t_* databases behind; the next run drops
 * them, and only them: the shared test server may be serving another run at the same time.
 */
import { spawn } from "node:child_process";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  createOwnedDatabase,
  dropStaleTestDatabases,
  TEST_DATABASE_PREFIX,
} from "../../helpers/test-databases.ts";

const adminUrl = inject("testDatabaseServerUrl");
const created: string[] = [];

async function query(sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

const exists = async (name: string) =>
  (await query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;

afterAll(async () => {
  for (const name of created) await query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

/** A process that creates its test database as the helpers do, then is SIGKILLed. */
async function databaseOfAKilledProcess(): Promise<string> {
  const helper = new URL("../../helpers/test-databases.ts", import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { createOwnedDatabase } from ${JSON.stringify(helper)};
       console.log(await createOwnedDatabase(${JSON.stringify(adminUrl)}));
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const name = await new Promise<string>((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) => resolve(String(chunk).trim()));
    child.once("exit", (code) => reject(new Error(`child exited with ${code}`)));
  });
  created.push(name);
  child.kill("SIGKILL");
  await new Promise((resolve) => child.once("exit", resolve));
  return name;
}

describe("stale test databases", () => {
  it("drops those of a killed test process and keeps those of live ones and other hosts", async () => {
    const orphan = await databaseOfAKilledProcess();
    const mine = await createOwnedDatabase(adminUrl);
    created.push(mine);
    const elsewhere = await createOwnedDatabase(adminUrl);
    created.push(elsewhere);
    // Same dead pid, another machine sharing the server: its liveness is not ours to judge.
    const { rows } = await query(
      "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1",
      [orphan],
    );
    const deadPid = JSON.parse(rows[0].c).pid as number;
    await query(
      `COMMENT ON DATABASE "${elsewhere}" IS '${JSON.stringify({ host: "another-host", pid: deadPid })}'`,
    );
    expect(orphan.startsWith(TEST_DATABASE_PREFIX)).toBe(true);
    expect(await exists(orphan)).toBe(true);

    const dropped = await dropStaleTestDatabases(adminUrl);

    expect(dropped).toContain(orphan);
    expect(dropped).not.toContain(mine);
    expect(dropped).not.toContain(elsewhere);
    expect(await exists(orphan)).toBe(false);
    expect(await exists(mine)).toBe(true);
    expect(await exists(elsewhere)).toBe(true);
  });
});
