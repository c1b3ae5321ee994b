/**
 * What versions predicted, kept so that feedback (the truth, sent later) can be joined to it:
 * each logged row gets a predictionId at once, and the rows are written to prediction_records
 * in batches, off the request path. A long-lived loop, so a class with its state shown.
 *
 * Bounds: memory holds at most maxPending rows between writes (beyond that rows are not
 * logged and get no predictionId; `dropped` counts them); storage holds the rows of the last
 * retentionMs (older ones are deleted once a minute), as many as the sampled predictions made
 * in that time (PREDICTION_LOG_RATE).
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Logger } from "pino";
import { PeriodicFlush } from "../../platform/periodic-flush.ts";

/** { label }, { value }, { class } or { output }: what was predicted for one row. */
export type Predicted = Record<string, string | number>;

export interface PredictionLogOptions {
  pool: pg.Pool;
  logger: Logger;
  flushMs: number;
  retentionMs: number;
  maxPending: number;
}

export class PredictionLog extends PeriodicFlush {
  readonly #options: PredictionLogOptions;
  #ids: string[] = [];
  #versions: string[] = [];
  #predicted: string[] = [];
  #lastRetention = 0;
  dropped = 0;
  failures = 0;

  constructor(options: PredictionLogOptions) {
    super(options.flushMs);
    this.#options = options;
  }

  get pending(): number {
    return this.#ids.length;
  }

  /** A predictionId per row, or null for rows past the bound. */
  record(versionId: string, predicted: readonly Predicted[]): (string | null)[] {
    return predicted.map((p) => {
      if (this.#ids.length >= this.#options.maxPending) {
        this.dropped++;
        return null;
      }
      const id = randomUUID();
      this.#ids.push(id);
      this.#versions.push(versionId);
      this.#predicted.push(JSON.stringify(p));
      return id;
    });
  }

  protected async write(): Promise<void> {
    const { pool, logger, retentionMs } = this.#options;
    if (this.#ids.length > 0) {
      const ids = this.#ids;
      const versions = this.#versions;
      const predicted = this.#predicted;
      this.#ids = [];
      this.#versions = [];
      this.#predicted = [];
      try {
        await pool.query(
          `INSERT INTO prediction_records (id, version_id, predicted)
           SELECT i, v, p FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[]) AS u(i, v, p)
            WHERE EXISTS (SELECT 1 FROM model_versions WHERE id = u.v)
           ON CONFLICT (id) DO NOTHING`,
          [ids, versions, predicted],
        );
      } catch (error) {
        this.failures++;
        logger.warn(
          { err: error, rows: ids.length },
          "logging predictions failed; their feedback will be refused",
        );
      }
    }
    if (Date.now() - this.#lastRetention > 60_000) {
      this.#lastRetention = Date.now();
      await pool
        .query(
          "DELETE FROM prediction_records WHERE created_at < now() - $1::double precision * interval '1 millisecond'",
          [retentionMs],
        )
        .catch((error: unknown) => logger.warn({ err: error }, "deleting old predictions failed"));
    }
  }
}
