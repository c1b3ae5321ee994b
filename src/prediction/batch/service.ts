/**
 * Batch scoring: submit a job over a stored dataset (checked whole here, so a job that is
 * accepted can only fail on a row's value), follow its progress, and stream its results a few
 * chunks at a time, as NDJSON or CSV.
 *
 * Memory: the runner holds one chunk (SCORING_CHUNK_ROWS rows of the columns it uses, their
 * predictions and NDJSON); a results stream holds RESULT_PAGE_CHUNKS chunks' NDJSON at most.
 */
import type pg from "pg";
import type { DatasetColumnView } from "../../datasets/schemas.ts";
import { storedDatasetColumns } from "../../datasets/stored-columns.ts";
import { readStored } from "../../platform/db/stored-json.ts";
import { conflict, type FieldIssue, notFound, validationError } from "../../platform/errors.ts";
import { lookupVersion, type VersionFacts } from "../tabular/version-lookup.ts";
import { readChunks } from "./queue-sql.ts";
import { type CsvLayout, csvLayout, csvLine, PREDICTION_FIELDS, records } from "./results.ts";
import type { BatchPrediction, BatchPredictionRequest, StoredBatchRequest } from "./schemas.ts";

/** Chunks read from Postgres per round trip while results stream. */
const RESULT_PAGE_CHUNKS = 4;

export type ResultFormat = "csv" | "ndjson";

export interface BatchScoringService {
  /**
   * Queues a job scoring every row of `req.dataset` with version `req.version` (newest ready
   * when omitted) of model `name`. Throws notFound (model, version, dataset), conflict (version
   * not ready) and validationError (columns that do not fit the version, bad passthrough).
   */
  submit(name: string, req: BatchPredictionRequest): Promise<BatchPrediction>;
  /** Throws notFound("batch prediction", id). */
  get(id: string): Promise<BatchPrediction>;
  /** The rows in dataset order; throws conflict unless the job succeeded. */
  results(id: string, format: ResultFormat): Promise<AsyncIterable<string>>;
}

export interface BatchScoringDeps {
  pool: pg.Pool;
  chunkRows: number;
  maxAttempts: number;
  /** A job was queued here: the local runner looks at once instead of at its next poll. */
  onSubmitted?(): void;
}

interface BatchRow {
  id: string;
  model: string;
  version: number;
  dataset_id: string | null;
  status: BatchPrediction["status"];
  rows_done: number;
  total_rows: number;
  chunk_rows: number;
  attempts: number;
  request: StoredBatchRequest;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const selectBatch = `
SELECT b.id, m.name AS model, v.version, b.dataset_id, b.status, b.rows_done, b.total_rows,
       b.chunk_rows, b.attempts, b.request, b.error, b.created_at, b.started_at, b.finished_at
  FROM batch_predictions b
  JOIN model_versions v ON v.id = b.version_id
  JOIN models m ON m.id = b.model_id
 WHERE b.id = $1`;

export function createBatchScoringService(deps: BatchScoringDeps): BatchScoringService {
  const { pool } = deps;

  return {
    async submit(name, req) {
      const version = await lookupVersion(pool, name, req, "scores");
      const { rows } = await pool.query<{ rows: number; columns: unknown }>(
        "SELECT rows, columns FROM datasets WHERE id = $1",
        [req.dataset],
      );
      const dataset = rows[0];
      if (!dataset) throw notFound("dataset", req.dataset);
      const columns = readStored(
        storedDatasetColumns,
        dataset.columns,
        `columns of dataset ${req.dataset}`,
      );
      const stored = { ...planColumns(version, columns, req), explain: req.explain };
      // The reply is the row as inserted: a runner (of any replica) may claim it at once.
      const inserted = await pool.query<BatchRow>(
        `INSERT INTO batch_predictions
           (model_id, version_id, dataset_id, max_attempts, total_rows, chunk_rows, request)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, $8::text AS model, $9::int AS version, dataset_id, status, rows_done,
                   total_rows, chunk_rows, attempts, request, error, created_at, started_at,
                   finished_at`,
        [
          version.modelId,
          version.id,
          req.dataset,
          deps.maxAttempts,
          dataset.rows,
          deps.chunkRows,
          JSON.stringify(stored),
          name,
          version.version,
        ],
      );
      deps.onSubmitted?.();
      return toView(inserted.rows[0]!);
    },

    async get(id) {
      return toView(await find(id));
    },

    async results(id, format) {
      const batch = await find(id);
      if (batch.status !== "succeeded") {
        throw conflict(
          `Batch prediction ${id} is ${batch.status} (${batch.rows_done} of ${batch.total_rows} rows scored); results are read once it succeeded.`,
        );
      }
      const names = batch.request.passthrough.map((p) => p.name);
      return stream(pool, id, format, (sample) => csvLayout(names, sample));
    },
  };

  async function find(id: string): Promise<BatchRow> {
    const { rows } = await pool.query<BatchRow>(selectBatch, [id]);
    if (!rows[0]) throw notFound("batch prediction", id);
    return rows[0];
  }
}

async function* stream(
  pool: pg.Pool,
  id: string,
  format: ResultFormat,
  layoutFor: (sample: Record<string, unknown>) => CsvLayout,
): AsyncIterable<string> {
  let layout: CsvLayout | undefined;
  for (let next = 0; ; ) {
    const { rows } = await pool.query<{ chunk: number; results: string }>(readChunks, [
      id,
      next,
      RESULT_PAGE_CHUNKS,
    ]);
    if (rows.length === 0) return;
    for (const { chunk, results } of rows) {
      next = chunk + 1;
      if (format === "ndjson") {
        yield results;
        continue;
      }
      let out = "";
      for (const record of records(results)) {
        if (!layout) {
          layout = layoutFor(record);
          out += csvLine(layout.header);
        }
        out += csvLine(layout.cells(record));
      }
      yield out;
    }
  }
}

function toView(row: BatchRow): BatchPrediction {
  return {
    id: row.id,
    model: row.model,
    version: row.version,
    dataset: row.dataset_id,
    status: row.status,
    rowsDone: row.rows_done,
    totalRows: row.total_rows,
    chunkRows: row.chunk_rows,
    attempts: row.attempts,
    passthrough: row.request.passthrough.map((p) => p.name),
    error: row.error,
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    results: `/batch-predictions/${row.id}/results`,
  };
}

/**
 * Which dataset columns feed the version and which are copied through, or every reason the
 * dataset does not fit: a feature the dataset lacks, a passthrough column it lacks, a column
 * that is neither (unless ignoreExtraColumns), a non-numeric column for a version trained on
 * numbers.
 */
export function planColumns(
  version: Pick<VersionFacts, "version" | "preprocessing" | "inputs">,
  columns: readonly DatasetColumnView[],
  req: Pick<BatchPredictionRequest, "passthrough" | "ignoreExtraColumns">,
): StoredBatchRequest {
  const issues: FieldIssue[] = [];
  const position = new Map(columns.map((c, i) => [c.name, i]));
  const passthrough: StoredBatchRequest["passthrough"] = [];
  const seen = new Set<string>();
  req.passthrough.forEach((name, i) => {
    const at = position.get(name);
    const path = `passthrough[${i}]`;
    if (at === undefined)
      issues.push({
        path,
        message: `"${name}" is not a column of the dataset (columns: ${columns.map((c) => c.name).join(", ")})`,
      });
    else if ((PREDICTION_FIELDS as readonly string[]).includes(name))
      issues.push({
        path,
        message: `"${name}" is the name of a prediction field; rename the column`,
      });
    else if (seen.has(name)) issues.push({ path, message: `"${name}" is listed twice` });
    else passthrough.push({ name, position: at });
    seen.add(name);
  });

  const features: StoredBatchRequest["features"] = [];
  const parsed = version.preprocessing;
  if (parsed) {
    const missing = parsed.features.filter((f) => !position.has(f.name)).map((f) => f.name);
    if (missing.length > 0)
      issues.push({
        path: "dataset",
        message: `has no column ${missing.map((m) => `"${m}"`).join(", ")}; version ${version.version} takes ${parsed.features.map((f) => f.name).join(", ")}`,
      });
    for (const f of parsed.features) {
      const at = position.get(f.name);
      if (at !== undefined) features.push({ name: f.name, position: at });
    }
    const used = new Set([...parsed.features.map((f) => f.name), ...req.passthrough]);
    const extra = columns.map((c) => c.name).filter((n) => !used.has(n));
    if (extra.length > 0 && !req.ignoreExtraColumns)
      issues.push({
        path: "dataset",
        message: `has columns that are not features of version ${version.version}: ${extra.join(", ")}; name them in passthrough or set ignoreExtraColumns`,
      });
  } else {
    // A version trained on numbers has no feature names: every other column, in file order.
    columns.forEach((c, i) => {
      if (seen.has(c.name)) return;
      if (c.type !== "numeric")
        issues.push({
          path: "dataset",
          message: `column "${c.name}" is not numeric; version ${version.version} was trained on numbers (name the column in passthrough to copy it)`,
        });
      features.push({ name: c.name, position: i });
    });
    if (features.length !== version.inputs)
      issues.push({
        path: "dataset",
        message: `has ${features.length} columns besides passthrough; version ${version.version} takes ${version.inputs} numbers a row`,
      });
  }
  if (issues.length > 0)
    throw validationError(
      issues,
      `The dataset does not fit the version: ${issues[0]!.path} ${issues[0]!.message}.`,
    );
  return { formatVersion: 1, features, passthrough, named: parsed !== null, explain: false };
}
