/**
 * GET /models/{name}/versions/{v}/drift?window=1h: the live inputs counted in the window (every
 * replica's, from feature_drift_bins) against the training statistics stored with the version,
 * PSI per feature; and the same over the last hour as the Prometheus gauge
 * nnserve_feature_drift_psi{model,version,feature}.
 */
import type pg from "pg";
import { Gauge, type Registry } from "prom-client";
import { z } from "zod";
import { readStored } from "../../platform/db/stored-json.ts";
import { conflict } from "../../platform/errors.ts";
import type { FeatureStatistics, Preprocessing } from "../../versions/preprocessing/schema.ts";
import { storedPreprocessingColumn } from "../../versions/stored-columns.ts";
import { lookupVersion } from "../tabular/version-lookup.ts";
import { DRIFT_THRESHOLD, psi } from "./psi.ts";
import type { DriftRecorder } from "./recorder.ts";
import { parseWindow } from "./window.ts";

export const driftReportSchema = z
  .object({
    model: z.string(),
    version: z.int(),
    window: z.string(),
    from: z.string(),
    to: z.string(),
    /** Sampled rows counted in the window (the most of any feature: missing cells are not counted). */
    rows: z.int(),
    threshold: z.number(),
    features: z.array(
      z.object({
        feature: z.string(),
        type: z.enum(["numeric", "categorical"]),
        psi: z.number(),
        /** psi above the threshold (0.2). */
        drifted: z.boolean(),
        /** Categorical: the live share of categories not seen in training. */
        unseenShare: z.number().optional(),
        bins: z.array(z.object({ bin: z.string(), expected: z.number(), actual: z.number() })),
      }),
    ),
  })
  .meta({ id: "DriftReport" });
export type DriftReport = z.output<typeof driftReportSchema>;

export interface DriftService {
  /** Throws notFound, conflict (no statistics stored), validationError (window). */
  report(name: string, version: number, window: string): Promise<DriftReport>;
}

export function createDriftService(deps: { pool: pg.Pool; recorder: DriftRecorder }): DriftService {
  return {
    async report(name, version, window) {
      const ms = parseWindow(window);
      const facts = await lookupVersion(deps.pool, name, version, "has drift");
      const preprocessing = facts.preprocessing;
      if (!preprocessing?.statistics)
        throw conflict(
          `Version ${version} of model "${name}" has no stored training statistics (${preprocessing ? "fitted before they were stored; train it again" : "trained on numbers without a dataset"}); drift is measured against them.`,
        );
      // This replica's counts first, so a report right after predicting here includes them.
      await deps.recorder.flush();
      const counts = await windowCounts(deps.pool, facts.id, ms);
      const to = new Date();
      return {
        model: name,
        version,
        window,
        from: new Date(to.getTime() - ms).toISOString(),
        to: to.toISOString(),
        ...compare(preprocessing, counts),
        threshold: DRIFT_THRESHOLD,
      };
    },
  };
}

/** counts.get(feature)[bin] over the last `ms`. */
async function windowCounts(pool: pg.Pool, versionId: string, ms: number) {
  const { rows } = await pool.query<{ feature: number; bin: number; n: number }>(
    `SELECT feature, bin, sum(count)::int AS n FROM feature_drift_bins
      WHERE version_id = $1 AND minute >= date_trunc('minute', now() - $2::double precision * interval '1 millisecond')
      GROUP BY feature, bin`,
    [versionId, ms],
  );
  const counts = new Map<number, number[]>();
  for (const row of rows) {
    const perBin = counts.get(row.feature) ?? [];
    perBin[row.bin] = row.n;
    counts.set(row.feature, perBin);
  }
  return counts;
}

function compare(preprocessing: Preprocessing, counts: Map<number, number[]>) {
  let rows = 0;
  const features = preprocessing.features.map((feature, f) => {
    const stats = preprocessing.statistics![f] as FeatureStatistics;
    const labels =
      stats.type === "numeric"
        ? Array.from({ length: 10 }, (_, b) => binLabel(stats.quantiles, b))
        : [...(feature.type === "categorical" ? feature.categories : []), "(unseen)"];
    const expected = [...stats.shares];
    while (expected.length < labels.length) expected.push(0);
    const live = labels.map((_, b) => counts.get(f)?.[b] ?? 0);
    const total = live.reduce((s, n) => s + n, 0);
    rows = Math.max(rows, total);
    const value = psi(expected, live);
    return {
      feature: feature.name,
      type: stats.type,
      psi: value,
      drifted: value > DRIFT_THRESHOLD,
      ...(stats.type === "categorical"
        ? { unseenShare: total > 0 ? live[live.length - 1]! / total : 0 }
        : {}),
      bins: labels.map((bin, b) => ({
        bin,
        expected: expected[b]!,
        actual: total > 0 ? live[b]! / total : 0,
      })),
    };
  });
  return { rows, features };
}

function binLabel(edges: readonly number[], b: number): string {
  const fmt = (x: number) => Number(x.toPrecision(4)).toString();
  if (b === 0) return `<= ${fmt(edges[0]!)}`;
  if (b === edges.length) return `> ${fmt(edges[edges.length - 1]!)}`;
  return `(${fmt(edges[b - 1]!)}, ${fmt(edges[b]!)}]`;
}

/**
 * nnserve_feature_drift_psi over the last hour, for every version with inputs counted in it
 * (at most 50 versions a scrape), computed when Prometheus scrapes.
 */
export function registerDriftGauge(
  registry: Registry,
  pool: pg.Pool,
  recorder: DriftRecorder,
): void {
  new Gauge({
    name: "nnserve_feature_drift_psi",
    help: "Population stability index of a feature's live inputs over the last hour against the version's training data (above 0.2: drifted)",
    labelNames: ["model", "version", "feature"],
    registers: [registry],
    async collect() {
      this.reset();
      await recorder.flush();
      const { rows } = await pool.query<{
        id: string;
        name: string;
        version: number;
        preprocessing: unknown;
      }>(
        `SELECT v.id, m.name, v.version, v.preprocessing FROM model_versions v
           JOIN models m ON m.id = v.model_id
          WHERE v.id IN (SELECT DISTINCT version_id FROM feature_drift_bins WHERE minute >= now() - interval '1 hour')
          LIMIT 50`,
      );
      for (const row of rows) {
        const preprocessing =
          row.preprocessing === null
            ? null
            : readStored(
                storedPreprocessingColumn,
                row.preprocessing,
                `preprocessing of ${row.name}@${row.version}`,
              );
        if (!preprocessing?.statistics) continue;
        const counts = await windowCounts(pool, row.id, 3_600_000);
        for (const f of compare(preprocessing, counts).features)
          this.set({ model: row.name, version: String(row.version), feature: f.feature }, f.psi);
      }
    },
  });
}
