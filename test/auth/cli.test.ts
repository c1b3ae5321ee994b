/** `npm run keys` (src/cli/keys.ts) as an operator runs it, against a test database. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

async function keys(...args: string[]) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        "--experimental-strip-types",
        "--disable-warning=ExperimentalWarning",
        "src/cli/keys.ts",
        ...args,
      ],
      { cwd: repoRoot, env: { PATH: process.env.PATH ?? "", DATABASE_URL: db.url } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("npm run keys", () => {
  it("creates a key, prints it once, lists it by prefix and revokes it", async () => {
    const created = await keys("create", "--scope", "train", "--scope", "predict", "--name", "ci");
    expect(created.code).toBe(0);
    const key = created.stdout.trim().split("\n").at(-1)!;
    expect(key).toMatch(/^nns_[0-9A-Za-z]{8}_[0-9A-Za-z_-]{43}$/);
    const prefix = key.slice(0, 12);

    const listed = await keys("list");
    expect(listed.stdout).toContain(prefix);
    expect(listed.stdout).toContain("train,predict");
    expect(listed.stdout).not.toContain(key);

    const revoked = await keys("revoke", prefix);
    expect(revoked.stdout).toContain(`Revoked API key ${prefix}`);
    expect((await keys("list")).stdout).toMatch(/revoked \d{4}-/);
    const again = await keys("revoke", prefix);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already revoked");
  });

  it("refuses an unknown scope or command with the usage", async () => {
    const bad = await keys("create", "--scope", "root");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown scope: root");
    expect((await keys("rotate")).stderr).toContain("usage:");
  });
});
