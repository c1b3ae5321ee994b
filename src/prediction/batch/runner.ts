/**
 * The batch scoring runner: one long-lived loop per process that claims batch jobs from their
 * queue (queue-sql.ts), scores them a chunk at a time through the prediction service (the same
 * path as POST /predict, so a batch row and a /predict row are one computation), and stores
 * each chunk's results in the statement that moves the job past it.
 *
 * Every claimed job ends one way or another (the queue's rule):
 *   - every chunk stored                  -> completeBatch
 *   - a row the version refuses (a missing value without imputation, an unseen category):
 *     deterministic, retrying cannot help -> failBatch, naming the dataset row
 *   - we are shutting down                -> releaseBatch, to resume at its next chunk
 *   - the lease was lost (a stall; the model or job deleted) -> stop, write nothing
 *   - anything else (the database away)   -> stop and leave it to its lease: reclaimExpired
 *     requeues it (an attempt counted) or fails it past its attempts.
 * One job at a time per process: a chunk already fills the worker pool's prediction thread.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type pg from "pg";
import type { Logger } from "pino";
import type { DatasetColumnView } from "../../datasets/schemas.ts";
import { storedDatasetColumns } from "../../datasets/stored-columns.ts";
import { readStored } from "../../platform/db/stored-json.ts";
import { AppError, formatPath } from "../../platform/errors.ts";
import type { RawCell } from "../../versions/preprocessing/encode.ts";
import type { PredictionService } from "../contract.ts";
import { EXPLAIN_MAX_ROWS, type ExplainService } from "../explain/service.ts";
import type { PredictResponse, PredictRow } from "../request.ts";
import { readSlice, type SliceColumn } from "./dataset-slices.ts";
import {
  claimBatch,
  completeBatch,
  failBatch,
  heartbeatBatch,
  reclaimExpiredBatches,
  releaseBatch,
  storeChunk,
} from "./queue-sql.ts";
import { resultLines } from "./results.ts";
import { type StoredBatchRequest, storedBatchRequestSchema } from "./schemas.ts";

export interface BatchRunnerOptions {
  pool: pg.Pool;
  prediction: PredictionService;
  /** For jobs with `explain`: predictions with attributions. */
  explain?: ExplainService;
  logger: Logger;
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  workerId?: string;
  /** Told after each chunk stored (metrics, tests). */
  onChunk?(jobId: string, chunk: number, rows: number): void;
}

export type BatchEnd = "succeeded" | "failed" | "released" | "lost" | "left";

interface ClaimedBatch {
  id: string;
  datasetId: string | null;
  attempts: number;
  totalRows: number;
  chunkRows: number;
  nextChunk: number;
  request: unknown;
  model: string;
  modelVersion: number;
}

export class BatchRunner {
  readonly workerId: string;
  readonly #options: BatchRunnerOptions;
  readonly #log: Logger;
  #state: "idle" | "running" | "stopping" | "stopped" = "idle";
  /** The job being scored, if any. */
  #current: string | undefined;
  #loop: Promise<void> | undefined;
  #wakeUp: (() => void) | undefined;

  constructor(options: BatchRunnerOptions) {
    this.#options = options;
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#log = options.logger.child({ component: "batch-runner", workerId: this.workerId });
  }

  get state() {
    return this.#state;
  }

  get current(): string | undefined {
    return this.#current;
  }

  start(): void {
    if (this.#state !== "idle") return;
    this.#state = "running";
    this.#loop = this.#run();
  }

  /** Looks for work now (a job was just submitted here). */
  wake(): void {
    this.#wakeUp?.();
  }

  /** Claims nothing more; the job being scored is released after its current chunk. */
  async stop(): Promise<void> {
    if (this.#state === "idle") this.#state = "stopped";
    if (this.#state !== "running") return this.#loop;
    this.#state = "stopping";
    this.wake();
    await this.#loop;
    this.#state = "stopped";
  }

  async #run(): Promise<void> {
    while (this.#state === "running") {
      let claimed: ClaimedBatch | undefined;
      try {
        await this.#reclaim();
        claimed = await this.#claim();
      } catch (error) {
        this.#log.error({ err: error }, "claiming batch jobs failed");
      }
      if (claimed) {
        this.#current = claimed.id;
        const end = await this.#score(claimed).catch((error: unknown) => {
          this.#log.error({ err: error, batchId: claimed.id }, "batch job stopped by an error");
          return "left" as const;
        });
        this.#current = undefined;
        this.#log.info({ batchId: claimed.id, end }, `batch job ${end}`);
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.pollMs);
        this.#wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeUp = undefined;
    }
  }

  async #reclaim(): Promise<void> {
    const { rows } = await this.#options.pool.query(reclaimExpiredBatches);
    for (const row of rows) this.#log.warn(row, "batch job lease expired; reclaimed");
  }

  async #claim(): Promise<ClaimedBatch | undefined> {
    const { rows } = await this.#options.pool.query<ClaimedBatch>(claimBatch, [
      this.workerId,
      this.#options.leaseMs,
    ]);
    return rows[0];
  }

  async #score(job: ClaimedBatch): Promise<BatchEnd> {
    const { pool, prediction, leaseMs, heartbeatMs } = this.#options;
    const log = this.#log.child({ batchId: job.id, attempt: job.attempts, model: job.model });
    log.info({ nextChunk: job.nextChunk, totalRows: job.totalRows }, "batch job claimed");
    const owner = [job.id, this.workerId];
    if (job.datasetId === null) return this.#fail(job, "the dataset was deleted");
    const request = storedBatchRequestSchema.parse(job.request);
    const columns = await datasetColumns(pool, job.datasetId);
    if (!columns) return this.#fail(job, "the dataset was deleted");
    const features = request.features.map((f) => slice(columns, f.position));
    const passthrough = request.passthrough.map((p) => slice(columns, p.position));

    let lost = false;
    const heartbeat = setInterval(() => {
      pool
        .query(heartbeatBatch, [...owner, leaseMs])
        .then(({ rowCount }) => {
          if (rowCount === 0) lost = true;
        })
        .catch((error: unknown) => log.warn({ err: error }, "batch heartbeat failed"));
    }, heartbeatMs);
    try {
      for (let chunk = job.nextChunk; chunk * job.chunkRows < job.totalRows; chunk++) {
        if (lost) return "lost";
        if (this.#state !== "running") {
          await pool.query(releaseBatch, owner);
          return "released";
        }
        const start = chunk * job.chunkRows;
        const rows = Math.min(job.chunkRows, job.totalRows - start);
        const cells = await readSlice(
          pool,
          job.datasetId,
          [...features, ...passthrough],
          start,
          rows,
        );
        const featureCells = cells.slice(0, features.length);
        let lines: string;
        try {
          const inputs = toRows(featureCells, rows);
          const response = request.explain
            ? await this.#explained(job, inputs)
            : await prediction.predict({ model: job.model, version: job.modelVersion, inputs });
          lines = resultLines(
            request.passthrough.map((p) => p.name),
            cells.slice(features.length),
            response,
          );
        } catch (error) {
          if (error instanceof AppError && error.code === "VALIDATION_FAILED") {
            return this.#fail(job, rowsMessage(error, start, request));
          }
          throw error;
        }
        const stored = await pool.query(storeChunk, [...owner, chunk, rows, lines, leaseMs]);
        if (stored.rowCount === 0) return "lost";
        this.#options.onChunk?.(job.id, chunk, rows);
      }
      const done = await pool.query(completeBatch, owner);
      return done.rowCount === 0 ? "lost" : "succeeded";
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Explanations take at most EXPLAIN_MAX_ROWS rows a call: the chunk in slices of that. */
  async #explained(job: ClaimedBatch, inputs: PredictRow[]): Promise<PredictResponse> {
    const explain = this.#options.explain;
    if (!explain) throw new Error("explanations are not available to this batch runner");
    let merged: PredictResponse | undefined;
    for (let start = 0; start < inputs.length; start += EXPLAIN_MAX_ROWS) {
      const part = await explain.predict({
        model: job.model,
        version: job.modelVersion,
        inputs: inputs.slice(start, start + EXPLAIN_MAX_ROWS),
        explain: true,
      });
      if (!merged) merged = part;
      else {
        merged.outputs.push(...part.outputs);
        if (part.classes) merged.classes!.push(...part.classes);
        if (part.predictions) merged.predictions!.push(...part.predictions);
        merged.explanations!.push(...part.explanations!);
      }
    }
    return merged!;
  }

  async #fail(job: ClaimedBatch, message: string): Promise<BatchEnd> {
    const { rowCount } = await this.#options.pool.query(failBatch, [
      job.id,
      this.workerId,
      message,
    ]);
    return rowCount === 0 ? "lost" : "failed";
  }
}

async function datasetColumns(
  pool: pg.Pool,
  datasetId: string,
): Promise<DatasetColumnView[] | undefined> {
  const { rows } = await pool.query<{ columns: unknown }>(
    "SELECT columns FROM datasets WHERE id = $1",
    [datasetId],
  );
  const row = rows[0];
  return row && readStored(storedDatasetColumns, row.columns, `columns of dataset ${datasetId}`);
}

function slice(columns: readonly DatasetColumnView[], position: number): SliceColumn {
  const view = columns[position];
  if (!view) throw new Error(`the dataset has no column ${position}`);
  return { position, view };
}

/**
 * Column-major cells -> the rows /predict takes, positional in the model's feature order (raw
 * values with preprocessing, numbers without): no per-row objects keyed by name.
 */
function toRows(cells: RawCell[][], rows: number): PredictRow[] {
  const out: PredictRow[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const row: RawCell[] = new Array(cells.length);
    for (let f = 0; f < cells.length; f++) row[f] = cells[f]![r] ?? null;
    out[r] = row as PredictRow;
  }
  return out;
}

/** A row error of the prediction (`inputs[3][1] ...`) in the dataset's rows (`rows[2003].age`). */
function rowsMessage(error: AppError, start: number, request: StoredBatchRequest): string {
  const first = error.errors[0];
  if (!first) return error.message;
  const path = first.path.replace(
    /^inputs\[(\d+)\](?:\[(\d+)\])?/,
    (_, r: string, f: string | undefined) =>
      formatPath([
        "rows",
        start + Number(r),
        ...(f === undefined ? [] : [request.features[Number(f)]?.name ?? f]),
      ]),
  );
  return `${path} ${first.message}`;
}
