import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import pino from "pino";
import { startEmbeddedPostgres } from "../../src/platform/db/embedded.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Set by database-global-setup.ts. */
    testDatabaseServerUrl: string;
  }
}

/** A Postgres server on which tests may create and drop databases. */
export interface TestDatabaseServer {
  /** URL of a database on it we may connect to for CREATE/DROP DATABASE. */
  url: string;
  stop(): Promise<void>;
}

const localServerUrl = "postgresql://postgres@127.0.0.1:5432/postgres";

/**
 * Where the tests create and drop their databases (as a superuser): TEST_DATABASE_URL when set;
 * else, with TEST_EMBEDDED_POSTGRES=1, only a throwaway embedded Postgres; else the local server
 * at 127.0.0.1:5432 when it answers, or the embedded one, so the suite also passes on a machine
 * without a server.
 */
export async function startTestDatabaseServer(
  env: Record<string, string | undefined> = process.env,
): Promise<TestDatabaseServer> {
  const none = async () => {};
  if (env.TEST_DATABASE_URL) return { url: env.TEST_DATABASE_URL, stop: none };
  const embeddedOnly = env.TEST_EMBEDDED_POSTGRES === "1" || env.TEST_EMBEDDED_POSTGRES === "true";
  if (!embeddedOnly && (await answers(localServerUrl))) return { url: localServerUrl, stop: none };
  const embedded = await startEmbeddedPostgres({
    logger: pino({ level: process.env.LOG_LEVEL ?? "warn" }),
    // Straight under tmpdir, not in a mkdtemp folder: as root the server runs as the postgres
    // user, who cannot enter a root-only folder.
    dataDir: join(tmpdir(), `nnserve-test-pg-${randomBytes(4).toString("hex")}`),
    ephemeral: true,
  });
  return { url: embedded.serverUrl, stop: embedded.stop };
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
