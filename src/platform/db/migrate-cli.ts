// `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded
// development database (.data/postgres) when DATABASE_URL is unset, as `npm start` would.
import pino from "pino";
import { createDatabase } from "./client.ts";
import { startEmbeddedPostgres } from "./embedded.ts";
import { migrate } from "./migrator.ts";

const logger = pino({ name: "db:migrate" });
const embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ logger });
const db = createDatabase({ url: process.env.DATABASE_URL ?? embedded!.url, poolSize: 1, logger });
try {
  const applied = await migrate({ pool: db.pool, logger });
  logger.info(
    { applied },
    applied.length > 0 ? "database migrated" : "database already up to date",
  );
} catch (error) {
  logger.error({ err: error }, "migration failed");
  process.exitCode = 1;
} finally {
  await db.close();
  await embedded?.stop();
}
