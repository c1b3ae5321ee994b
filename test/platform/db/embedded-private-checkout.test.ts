import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddedPostgresError, startEmbeddedPostgres } from "../../../src/platform/db/embedded.ts";
import { blockingDirectory, systemUser } from "../../../src/platform/db/embedded-location.ts";

const repo = resolve(import.meta.dirname, "../../..");
const asRoot = process.getuid?.() === 0;
const scratch = join(tmpdir(), `nnserve-private-${randomBytes(4).toString("hex")}`);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/**
 * A checkout inside a 0700 directory, as `git clone d && chmod 700 d` or a clone under /root
 * leaves it: src and node_modules are links to ours, and node runs with --preserve-symlinks so
 * that every path (the binaries' too) goes through the private directory, exactly as in a real
 * clone there.
 */
async function privateCheckout(): Promise<string> {
  const privateDir = join(scratch, "home");
  const checkout = join(privateDir, "nnserve");
  await mkdir(checkout, { recursive: true });
  await chmod(privateDir, 0o700);
  await symlink(join(repo, "src"), join(checkout, "src"));
  await symlink(join(repo, "node_modules"), join(checkout, "node_modules"));
  await copyFile(join(repo, "package.json"), join(checkout, "package.json"));
  return checkout;
}

function startIn(
  checkout: string,
  relocationRoot: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const entry = join(checkout, "src", "platform", "db", "embedded.ts");
  const child = spawn(
    process.execPath,
    [
      "--preserve-symlinks",
      "--input-type=module",
      "-e",
      `import pino from "pino";
       import { startEmbeddedPostgres } from ${JSON.stringify(entry)};
       const s = await startEmbeddedPostgres({ logger: pino({ level: "silent" }), ephemeral: true,
         relocationRoot: ${JSON.stringify(relocationRoot)} });
       console.log(s.url);
       process.stdin.on("end", async () => { await s.stop(); process.exit(0); });
       process.stdin.resume();`,
    ],
    { cwd: checkout, stdio: ["pipe", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += String(chunk);
  });
  return new Promise((resolvePromise, reject) => {
    child.stdout.once("data", (chunk: Buffer) =>
      resolvePromise({
        url: String(chunk).trim(),
        // Resolves once the child has stopped its server and exited: only then may the test
        // remove the folders the server runs from.
        stop: () =>
          new Promise<void>((resolveStop) => {
            if (child.exitCode !== null) return resolveStop();
            child.once("exit", () => resolveStop());
            child.stdin.end();
          }),
      }),
    );
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
}

describe("blockingDirectory", () => {
  it("names the first directory the user may not enter", async () => {
    const dir = join(scratch, "blocked", "inner");
    await mkdir(dir, { recursive: true });
    await chmod(join(scratch, "blocked"), 0o700);
    const nobody = { name: "nobody-test", uid: 65_432, gids: [65_432] };
    expect(blockingDirectory(join(dir, "data"), nobody)).toBe(join(scratch, "blocked"));
    await chmod(join(scratch, "blocked"), 0o711);
    expect(blockingDirectory(join(dir, "data"), nobody)).toBeUndefined();
  });
});

// Only root hands the server to another user; as anyone else the server runs as that user.
describe.runIf(asRoot)("embedded postgres started as root from a 0700 checkout", () => {
  it("keeps its binaries and data where the postgres user can reach them, and starts", async () => {
    const checkout = await privateCheckout();
    expect(blockingDirectory(join(checkout, "node_modules"), systemUser("postgres"))).toBe(
      join(scratch, "home"),
    );
    const relocationRoot = join(scratch, "var-lib-nnserve");
    const server = await startIn(checkout, relocationRoot);
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query("SELECT current_database() AS db");
      await client.end();
      expect(rows[0]).toEqual({ db: "nnserve" });
      const names = await readdir(relocationRoot);
      expect(names.some((name) => name.startsWith("embedded-postgres-"))).toBe(true);
      expect(names).toContain("data");
      expect(existsSync(join(checkout, ".data"))).toBe(false);
    } finally {
      await server.stop();
    }
  }, 90_000);

  it("stops with one line naming the cause and the fix when no reachable place exists", async () => {
    const blockedRoot = join(scratch, "locked", "nnserve");
    await mkdir(blockedRoot, { recursive: true });
    await chmod(join(scratch, "locked"), 0o700);
    const error = await startEmbeddedPostgres({
      logger: pino({ level: "silent" }),
      dataDir: join(scratch, "home", "nnserve", ".data", "postgres"),
      relocationRoot: blockedRoot,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddedPostgresError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    // The first directory in the way: ours, or one above the checkout when it sits in a 0700 one.
    expect(message).toMatch(/who cannot enter \/\S+, and /);
    expect(message).toContain(`${blockedRoot} could not be used instead`);
    expect(message).toContain("set DATABASE_URL");
  });
});
