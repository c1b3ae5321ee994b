import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "../../../src/platform/db/embedded.ts";

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

  it("takes over a data directory whose server outlived a killed process", async () => {
    const dataDir = join(tmpdir(), `nnserve-embedded-kill-${randomBytes(4).toString("hex")}`);
    const entry = new URL("../../../src/platform/db/embedded.ts", import.meta.url).href;
    // A process that starts the server, says where, and is then killed without a chance to stop it.
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import pino from "pino";
         import { startEmbeddedPostgres } from ${JSON.stringify(entry)};
         const s = await startEmbeddedPostgres({ logger: pino({ level: "silent" }), dataDir: ${JSON.stringify(dataDir)} });
         console.log(s.url);
         setInterval(() => {}, 1000);`,
      ],
      { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => resolve(String(chunk).trim()));
        child.on("exit", (code) => reject(new Error(`child exited with ${code}`)));
      });
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
      expect(existsSync(join(dataDir, "postmaster.pid"))).toBe(true);

      const server = await startEmbeddedPostgres({ logger: pino({ level: "silent" }), dataDir });
      try {
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        expect((await client.query("SELECT 1 AS one")).rows[0]).toEqual({ one: 1 });
        await client.end();
      } finally {
        await server.stop();
      }
    } finally {
      child.kill("SIGKILL");
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  it("stays up on SIGTERM until its owner stops it (the owner's shutdown still has work to do)", async () => {
    const dataDir = join(tmpdir(), `nnserve-embedded-term-${randomBytes(4).toString("hex")}`);
    const entry = new URL("../../../src/platform/db/embedded.ts", import.meta.url).href;
    // The owner's shutdown, as nnserve's: on SIGTERM it first uses the database (releasing its
    // jobs, a while later), then stops the server, then exits.
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import pg from "pg";
         import pino from "pino";
         import { startEmbeddedPostgres } from ${JSON.stringify(entry)};
         const s = await startEmbeddedPostgres({ logger: pino({ level: "silent" }),
           dataDir: ${JSON.stringify(dataDir)}, ephemeral: true });
         process.on("SIGTERM", async () => {
           await new Promise((r) => setTimeout(r, 1000));
           const client = new pg.Client({ connectionString: s.url });
           await client.connect();
           const { rows } = await client.query("SELECT 6 * 7 AS answer");
           await client.end();
           console.log("answer " + rows[0].answer);
           await s.stop();
           console.log("stopped");
           process.exit(0);
         });
         console.log("url " + s.url);`,
      ],
      { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stderr.on("data", (chunk: Buffer) => {
      err += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          out += String(chunk);
          if (out.includes("url ")) resolve();
        });
        void exited.then((code) => reject(new Error(`child exited with ${code}: ${err}`)));
      });
      const url = /url (\S+)/.exec(out)![1]!;
      child.kill("SIGTERM");
      expect(await exited, `stdout: ${out}\nstderr: ${err}`).toBe(0);
      expect(out).toContain("answer 42");
      expect(out).toContain("stopped");
      const after = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
      after.on("error", () => {});
      await expect(after.connect()).rejects.toThrow();
    } finally {
      child.kill("SIGKILL");
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
