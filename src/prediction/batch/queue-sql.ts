/*
 * The batch scoring queue is the batch_predictions table; every statement that moves a batch
 * job lives here. The design is the training queue's (src/training/jobs/queue-sql.ts):
 *
 *   queued ──claim──> running ──complete──> succeeded
 *                      │  ├──fail──────────> failed      (bad rows: retrying cannot help)
 *                      │  ├──release───────> queued      (shutdown; not counted as an attempt)
 *                      │  └──reclaimExpired> queued      (lease expired, attempts remain)
 *                      │                 └─> failed      (lease expired, attempts exhausted)
 *                      └──storeChunk: next_chunk + 1, rows_done + rows, lease renewed
 *
 * - Unlike a training job, a batch job keeps its progress across attempts: results are stored
 *   a chunk at a time, each chunk in the one statement that moves next_chunk past it and only
 *   while the caller owns the job with next_chunk at that chunk. A new attempt resumes at
 *   next_chunk, so after a crash no chunk is lost (it was not stored: it runs again) and none
 *   is stored twice (the chunk's primary key and the next_chunk guard both refuse it).
 * - Every move out of running, the heartbeat and storeChunk happen only while the caller owns
 *   the job (status running, lease_owner = caller); a caller told otherwise (no row) stops.
 * - Times come from the database clock.
 */

const msFromNow = (n: number) => `now() + $${n}::double precision * interval '1 millisecond'`;

/** Owned by the caller: $1 job id, $2 worker id. */
const owned = "id = $1 AND status = 'running' AND lease_owner = $2";

const batchColumns = (t: string) => `
  ${t}.id, ${t}.model_id AS "modelId", ${t}.version_id AS "versionId",
  ${t}.dataset_id AS "datasetId", ${t}.status, ${t}.attempts, ${t}.max_attempts AS "maxAttempts",
  ${t}.total_rows AS "totalRows", ${t}.chunk_rows AS "chunkRows",
  ${t}.next_chunk AS "nextChunk", ${t}.rows_done AS "rowsDone", ${t}.request`;

/** $1 worker id, $2 lease ms. The oldest queued job, skipping rows other claimers hold. */
export const claimBatch = `
WITH next AS (
  SELECT id FROM batch_predictions
   WHERE status = 'queued'
   ORDER BY created_at, id
   LIMIT 1
   FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE batch_predictions AS b
     SET status = 'running', attempts = b.attempts + 1, lease_owner = $1,
         lease_expires_at = ${msFromNow(2)}, started_at = coalesce(b.started_at, now()),
         updated_at = now()
    FROM next
   WHERE b.id = next.id
  RETURNING b.*
)
SELECT ${batchColumns("claimed")}, m.name AS model, v.version AS "modelVersion"
  FROM claimed
  JOIN model_versions v ON v.id = claimed.version_id
  JOIN models m ON m.id = claimed.model_id`;

/** $1 job, $2 worker, $3 lease ms. A row while the caller still owns the job. */
export const heartbeatBatch = `
UPDATE batch_predictions SET lease_expires_at = ${msFromNow(3)}, updated_at = now()
 WHERE ${owned}
RETURNING id`;

/**
 * $1 job, $2 worker, $3 chunk number, $4 rows in it, $5 its results (NDJSON), $6 lease ms.
 * Returns the chunk when stored, nothing when the caller no longer owns the job at that chunk.
 */
export const storeChunk = `
WITH job AS (
  UPDATE batch_predictions
     SET next_chunk = $3 + 1, rows_done = rows_done + $4, lease_expires_at = ${msFromNow(6)},
         updated_at = now()
   WHERE ${owned} AND next_chunk = $3
  RETURNING id
)
INSERT INTO batch_prediction_chunks (batch_id, chunk, rows, results)
SELECT id, $3, $4, $5 FROM job
RETURNING chunk`;

/** $1 job, $2 worker. Every chunk stored. */
export const completeBatch = `
UPDATE batch_predictions
   SET status = 'succeeded', lease_expires_at = NULL, finished_at = now(), updated_at = now()
 WHERE ${owned} AND rows_done = total_rows
RETURNING id`;

/** $1 job, $2 worker, $3 the error. The chunks stored so far stay (GET results refuses them). */
export const failBatch = `
UPDATE batch_predictions
   SET status = 'failed', error = $3, lease_expires_at = NULL, finished_at = now(),
       updated_at = now()
 WHERE ${owned}
RETURNING id`;

/** $1 job, $2 worker. Back to the queue at its progress; the attempt is not counted. */
export const releaseBatch = `
UPDATE batch_predictions
   SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL,
       updated_at = now()
 WHERE ${owned}
RETURNING id`;

/** Running jobs whose lease expired: back to the queue, or failed past their attempts. */
export const reclaimExpiredBatches = `
WITH expired AS (
  SELECT id FROM batch_predictions
   WHERE status = 'running' AND lease_expires_at < now()
   FOR UPDATE SKIP LOCKED
)
UPDATE batch_predictions AS b
   SET status = CASE WHEN b.attempts < b.max_attempts THEN 'queued' ELSE 'failed' END::job_status,
       error = CASE WHEN b.attempts < b.max_attempts THEN b.error
                    ELSE 'lease expired after ' || b.attempts || ' attempts' END,
       finished_at = CASE WHEN b.attempts < b.max_attempts THEN NULL ELSE now() END,
       lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
  FROM expired
 WHERE b.id = expired.id
RETURNING b.id, b.status, b.attempts, b.next_chunk AS "nextChunk"`;

/** $1 job, $2 the first chunk wanted, $3 how many. */
export const readChunks = `
SELECT chunk, results FROM batch_prediction_chunks
 WHERE batch_id = $1 AND chunk >= $2
 ORDER BY chunk
 LIMIT $3`;

/**
 * $1 dataset, $2 column positions, $3 first byte (1-based) of each, $4 bytes of each: the
 * slices of the columns one chunk reads. substring on a bytea stored uncompressed out of line
 * (TOAST) reads only the pages the slice is on.
 */
export const readColumnSlices = `
SELECT c.position, substring(c.values FROM s.start FOR s.length) AS slice
  FROM dataset_columns c
  JOIN unnest($2::int[], $3::int[], $4::int[]) AS s(position, start, length)
    ON c.position = s.position
 WHERE c.dataset_id = $1`;
