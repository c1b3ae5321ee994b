import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { Logger } from "pino";
import { PrismaClient } from "../../generated/prisma/client.ts";

/** One pg pool shared by the Prisma client and the raw SQL of the queue and the migrator. */
export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  /** Connections in the pool; the queue's heartbeats and claims need a few besides requests. */
  poolSize?: number;
  logger?: Logger;
}

export function createDatabase({ url, poolSize = 10, logger }: DatabaseOptions): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  let closing: Promise<void> | undefined;
  // An idle client losing its server emits 'error' on the pool; unhandled, it kills the process.
  // Only the error's code and message are logged: pg's error carries the client with it, whose
  // internals (the connection's secretKey among them) must not reach a log. While closing (a
  // Ctrl-C with the embedded Postgres stopping too) it is expected, and not worth a line.
  pool.on("error", (error: Error & { code?: string }) => {
    if (closing) return;
    logger?.warn(
      { err: { message: error.message, code: error.code } },
      "idle postgres connection failed",
    );
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    close() {
      closing ??= (async () => {
        await prisma.$disconnect();
        await pool.end();
      })();
      return closing;
    },
  };
}
