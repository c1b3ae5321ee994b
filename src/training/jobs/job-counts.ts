/**
 * Training jobs by status, read from Postgres at scrape time: one grouped count over the
 * (status, run_at, created_at) index, so every replica reports the same, shared queue.
 */
import type pg from "pg";
import type { JobCounts } from "../../platform/metrics.ts";

const JOB_COUNTS = `
  SELECT status::text AS status,
         count(*)::int AS n,
         (count(*) FILTER (WHERE status = 'queued' AND run_at <= now()))::int AS due
    FROM training_jobs
   GROUP BY status`;

export function jobCountsFrom(pool: pg.Pool): () => Promise<JobCounts> {
  return async () => {
    const { rows } = await pool.query<{ status: string; n: number; due: number }>(JOB_COUNTS);
    const counts: JobCounts = { byStatus: {}, due: 0 };
    for (const row of rows) {
      counts.byStatus[row.status] = row.n;
      counts.due += row.due;
    }
    return counts;
  };
}
