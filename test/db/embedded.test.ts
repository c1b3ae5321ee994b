import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "../../src/db/embedded.ts";

describe("embedded postgres", () => {
  it("starts on a free port, answers a query and stops", async () => {
    // Directly under tmpdir: as root the server runs as the postgres user, who must reach it.
    const dataDir = join(tmpdir(), `nnserve-embedded-test-${randomBytes(4).toString("hex")}`);
    const server = await startEmbeddedPostgres({
      logger: pino({ level: "silent" }),
      dataDir,
      ephemeral: true,
      database: "nnserve_embedded",
    });
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const result = await client.query("SELECT current_database() AS db, 6 * 7 AS answer");
      await client.end();
      expect(result.rows[0]).toEqual({ db: "nnserve_embedded", answer: 42 });
    } finally {
      await server.stop();
    }
    const after = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 2_000 });
    after.on("error", () => {});
    await expect(after.connect()).rejects.toThrow();
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});
