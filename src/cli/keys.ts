/**
 * `npm run keys -- <command>`: API keys from a shell, for the first admin key and for operators.
 *
 *   npm run keys -- create --scope train [--scope predict] [--name ci]
 *   npm run keys -- list
 *   npm run keys -- revoke <id or prefix>
 *
 * Talks to DATABASE_URL (the embedded development database when unset, as npm start does) and
 * applies pending migrations first, so it works before the server ever started. A created key is
 * printed once, alone on the last line; only its hash is stored.
 */
import { parseArgs } from "node:util";
import pino from "pino";
import { createKeyStore } from "../auth/key-store.ts";
import { SCOPES, type Scope } from "../auth/keys.ts";
import { createDatabase } from "../platform/db/client.ts";
import { startEmbeddedPostgres } from "../platform/db/embedded.ts";
import { migrate } from "../platform/db/migrator.ts";
import { isAppError } from "../platform/errors.ts";

const USAGE = `usage:
  npm run keys -- create --scope <${SCOPES.join("|")}> [--scope ...] [--name <name>]
  npm run keys -- list
  npm run keys -- revoke <id or prefix>`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    scope: { type: "string", multiple: true },
    name: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const [command, ...rest] = positionals;
if (values.help || !command) fail("");
if (!["create", "list", "revoke"].includes(command)) fail(`unknown command: ${command}`);
const scopes = values.scope ?? [];
const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
if (command === "create" && (scopes.length === 0 || unknown.length > 0)) {
  fail(unknown.length > 0 ? `unknown scope: ${unknown.join(", ")}` : "give at least one --scope");
}
if (command === "revoke" && rest.length !== 1) fail("revoke takes one key id or prefix");

// Logs go to stderr, so that stdout carries only what the command prints.
const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" }, pino.destination(2));
const embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ logger });
const db = createDatabase({ url: process.env.DATABASE_URL ?? embedded!.url, poolSize: 2, logger });
try {
  await migrate({ pool: db.pool, logger });
  const keys = createKeyStore({ db });
  if (command === "create") {
    const name = values.name ?? `cli-${new Date().toISOString().slice(0, 10)}`;
    const { key, apiKey } = await keys.create({ name, scopes: scopes as Scope[] });
    console.log(
      `Created API key ${apiKey.prefix} ("${apiKey.name}", scopes: ${apiKey.scopes.join(" ")}, id ${apiKey.id}).`,
    );
    console.log("Store it now, it is not shown again; send it as 'Authorization: Bearer <key>':");
    console.log(key);
  } else if (command === "list") {
    const all = await keys.list();
    if (all.length === 0) console.log("No API keys.");
    for (const k of all) {
      const state = k.revokedAt ? `revoked ${k.revokedAt}` : `last used ${k.lastUsedAt ?? "never"}`;
      console.log(
        `${k.prefix}  ${k.scopes.join(",").padEnd(20)} ${k.name.padEnd(24)} ${k.id}  ${state}`,
      );
    }
  } else {
    const revoked = await keys.revoke(rest[0]!);
    console.log(`Revoked API key ${revoked.prefix} ("${revoked.name}").`);
  }
} catch (error) {
  if (isAppError(error)) console.error(error.message);
  else logger.error({ err: error }, "keys command failed");
  process.exitCode = 1;
} finally {
  await db.close();
  await embedded?.stop();
}
