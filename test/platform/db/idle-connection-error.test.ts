/**
 * An idle pool connection whose server goes away (a Ctrl-C stops the embedded Postgres with the
 * process): one warning with the error's code and message, never pg's client internals (the
 * connection's secretKey was among ~190 lines of them).
 */
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../../src/platform/db/client.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { waitFor } from "../../helpers/server.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await db?.close();
});

describe("an idle connection that fails", () => {
  it("is one warning line without the client's internals", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const own = createDatabase({ url: db.url, logger: pino({ level: "info" }, destination) });
    try {
      const client = await own.pool.connect();
      const { rows } = await client.query("SELECT pg_backend_pid() AS pid");
      client.release(); // idle in the pool now
      await db.pool.query("SELECT pg_terminate_backend($1)", [rows[0].pid]);
      const line = await waitFor("the warning", async () =>
        lines.find((l) => l.includes("idle postgres connection failed")),
      );
      expect(JSON.parse(line)).toMatchObject({ level: 40, err: { code: "57P01" } });
      expect(lines.join("")).not.toMatch(/secretKey|processID|_ending/);
    } finally {
      await own.close();
    }
  });
});
