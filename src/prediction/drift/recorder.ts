/**
 * Counts sampled live inputs into their training bins, per version, minute, feature and bin, in
 * memory, and adds the counts to feature_drift_bins every flush (every replica adds to the same
 * rows, so a drift report sees all of them). A long-lived loop, so a class with its state shown.
 *
 * Bounds: at most maxRowsPerFlush rows per version are counted between two flushes (the rest
 * are skipped, and counted in `skipped`); memory holds one counter per version, minute, feature
 * and bin seen since the last flush; storage holds a row per version, minute, feature and bin
 * with a count (at most 11 per numeric feature and categories + 1 per categorical one), kept
 * for retentionMs.
 */
import type pg from "pg";
import type { Logger } from "pino";
import { PeriodicFlush } from "../../platform/periodic-flush.ts";
import { binOf } from "../../versions/preprocessing/bins.ts";
import { isMissing, parseNumber, type RawRow } from "../../versions/preprocessing/encode.ts";
import type { Preprocessing } from "../../versions/preprocessing/schema.ts";

export interface DriftVersion {
  id: string;
  preprocessing: Preprocessing;
}

interface Pending {
  versionId: string;
  minute: number;
  /** counts[feature][bin] */
  counts: number[][];
}

export interface DriftRecorderOptions {
  pool: pg.Pool;
  logger: Logger;
  flushMs: number;
  retentionMs: number;
  maxRowsPerFlush: number;
}

export class DriftRecorder extends PeriodicFlush {
  readonly #options: DriftRecorderOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #rows = new Map<string, number>();
  #lastRetention = 0;
  /** Rows not counted because their version was past maxRowsPerFlush. */
  skipped = 0;
  /** Flushes that failed (the counts are dropped, not retried: drift is a sample anyway). */
  failures = 0;

  constructor(options: DriftRecorderOptions) {
    super(options.flushMs);
    this.#options = options;
  }

  /** Counts `rows` (by name or in feature order) of a version with training statistics. */
  observe(version: DriftVersion, rows: readonly RawRow[], now = Date.now()): void {
    const { features, statistics } = version.preprocessing;
    if (!statistics) return;
    const seen = this.#rows.get(version.id) ?? 0;
    const take = Math.min(rows.length, this.#options.maxRowsPerFlush - seen);
    this.skipped += rows.length - Math.max(take, 0);
    if (take <= 0) return;
    this.#rows.set(version.id, seen + take);
    const minute = Math.floor(now / 60_000) * 60_000;
    const key = `${version.id}|${minute}`;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = {
        versionId: version.id,
        minute,
        counts: features.map((f) =>
          new Array<number>(f.type === "numeric" ? 10 : f.categories.length + 1).fill(0),
        ),
      };
      this.#pending.set(key, pending);
    }
    for (let r = 0; r < take; r++) {
      const row = rows[r]!;
      const positional = Array.isArray(row);
      for (let f = 0; f < features.length; f++) {
        const feature = features[f]!;
        const cell = positional
          ? (row as readonly unknown[])[f]
          : (row as Readonly<Record<string, unknown>>)[feature.name];
        if (isMissing(cell as never)) continue;
        const stats = statistics[f]!;
        let bin: number;
        if (stats.type === "numeric") {
          const value =
            typeof cell === "number"
              ? cell
              : typeof cell === "string"
                ? parseNumber(cell)
                : undefined;
          if (value === undefined) continue;
          bin = binOf(stats.quantiles, value);
        } else if (feature.type === "categorical") {
          const index = feature.categories.indexOf(String(cell));
          bin = index >= 0 ? index : feature.categories.length;
        } else continue;
        pending.counts[f]![bin]!++;
      }
    }
  }

  protected async write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const taken = [...this.#pending.values()];
    this.#pending.clear();
    this.#rows.clear();
    const versions: string[] = [];
    const minutes: string[] = [];
    const featureIndex: number[] = [];
    const bins: number[] = [];
    const counts: number[] = [];
    for (const p of taken)
      for (let f = 0; f < p.counts.length; f++)
        for (let b = 0; b < p.counts[f]!.length; b++) {
          const n = p.counts[f]![b]!;
          if (n === 0) continue;
          versions.push(p.versionId);
          minutes.push(new Date(p.minute).toISOString());
          featureIndex.push(f);
          bins.push(b);
          counts.push(n);
        }
    const { pool, logger, retentionMs } = this.#options;
    try {
      await pool.query(
        `INSERT INTO feature_drift_bins AS d (version_id, minute, feature, bin, count)
         SELECT v, m, f, b, c
           FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::int[], $5::int[]) AS u(v, m, f, b, c)
           WHERE EXISTS (SELECT 1 FROM model_versions WHERE id = u.v)
         ON CONFLICT (version_id, minute, feature, bin) DO UPDATE SET count = d.count + excluded.count`,
        [versions, minutes, featureIndex, bins, counts],
      );
      if (Date.now() - this.#lastRetention > 60_000) {
        this.#lastRetention = Date.now();
        await pool.query(
          "DELETE FROM feature_drift_bins WHERE minute < now() - $1::double precision * interval '1 millisecond'",
          [retentionMs],
        );
      }
    } catch (error) {
      this.failures++;
      logger.warn({ err: error }, "writing drift counts failed; this sample is dropped");
    }
  }
}
