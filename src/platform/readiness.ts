/**
 * Readiness: can this process do its work right now? The database answers, its schema is
 * migrated, the worker pool is up, and we are not shutting down.
 */

import type { Database } from "./db/client.ts";
import type { ReadinessReport } from "./readiness-schema.ts";

export interface Readiness {
  /** Never throws: a failing dependency is reported as a check with ok: false. */
  check(): Promise<ReadinessReport>;
}

export interface ReadinessDeps {
  db: Database;
  /** Resolves true when no migration is pending. */
  migrated(): Promise<boolean>;
  poolUp(): boolean;
  shuttingDown(): boolean;
  /** The engine's kernel backend, reported as the `engine` check's detail. */
  engineBackend?: string;
  timeoutMs?: number;
}

type Check = ReadinessReport["checks"][string];

export function createReadiness({
  db,
  migrated,
  poolUp,
  shuttingDown,
  engineBackend,
  timeoutMs = 2_000,
}: ReadinessDeps): Readiness {
  // Once migrated, always migrated for this process: no need to read the table every probe.
  let migrationsDone = false;

  async function timed(probe: () => Promise<string | undefined>): Promise<Check> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<string>((resolve) => {
        timer = setTimeout(resolve, timeoutMs, `no answer within ${timeoutMs} ms`);
      });
      const detail = await Promise.race([probe(), timeout]);
      const latencyMs = Math.round((performance.now() - started) * 100) / 100;
      return detail === undefined ? { ok: true, latencyMs } : { ok: false, detail, latencyMs };
    } catch (error) {
      // /readyz answers without a key: a driver's message can name hosts and users, so only
      // its error code (ECONNREFUSED, 57P01, ...) goes out.
      const code = (error as { code?: unknown }).code;
      return {
        ok: false,
        detail: typeof code === "string" ? `failed (${code})` : "failed",
        latencyMs: Math.round((performance.now() - started) * 100) / 100,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async check() {
      const [database, migrations] = await Promise.all([
        timed(async () => {
          await db.pool.query("SELECT 1");
          return undefined;
        }),
        timed(async () => {
          migrationsDone ||= await migrated();
          return migrationsDone ? undefined : "migrations are pending";
        }),
      ]);
      const checks: ReadinessReport["checks"] = {
        database,
        migrations,
        workerPool: poolUp() ? { ok: true } : { ok: false, detail: "the worker pool is closed" },
        shutdown: shuttingDown()
          ? { ok: false, detail: "shutting down; not taking new work" }
          : { ok: true },
        // Informational: every backend can serve (the fallbacks are slower, not broken).
        ...(engineBackend ? { engine: { ok: true, detail: `kernels: ${engineBackend}` } } : {}),
      };
      return { ready: Object.values(checks).every((c) => c.ok), checks };
    },
  };
}
