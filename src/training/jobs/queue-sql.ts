/*
 * The training queue is the training_jobs table; every statement that moves a job lives here.
 *
 * State machine (status, with the columns each move sets):
 *
 *   queued ──claim──> running ──complete──> succeeded
 *     │                │  │  └──fail────────> failed      (or back to queued when the worker
 *     │                │  │                               asks for a retry and attempts remain)
 *     │                │  └──markCancelled──> cancelled   (worker saw cancel_requested)
 *     │                ├──release──> queued               (worker shutting down)
 *     │                └──reclaimExpired──> queued        (lease expired, attempts < max_attempts)
 *     │                                 └──> failed       (lease expired, attempts exhausted:
 *     │                                                   "lease expired after N attempts")
 *     └──cancel──> cancelled at once; cancel on running only sets cancel_requested, and the
 *                  worker stops between batches and marks it cancelled, keeping its metrics.
 *
 * - claim: the fairest due job (fewest running of its API key, then oldest), attempts + 1, lease_owner = the worker, lease_expires_at = now + lease. A new
 *   attempt trains from scratch, so claim also resets progress and forgets the epoch rows of
 *   the attempt before.
 * - Every move out of running, and heartbeat and recordEpochs, happen only while the caller
 *   still owns the job (status running, lease_owner = caller). A worker whose call reports the
 *   job lost (false/null) must stop at once: someone else may own it by now.
 * - The moves out of running also take the attempt number the claim returned: a worker that
 *   tries its final write again (after a transient error) may meanwhile have lost the lease and
 *   claimed the same job afresh, and must not end that later attempt with the earlier one's
 *   result. Once a move has happened the job is no longer owned, so a repeated move is a no-op.
 * - We MUST release the job: a worker that claimed a job always completes, fails, cancels or
 *   releases it; if it dies instead, its lease expires and reclaimExpired does it for it.
 * - release does not count as an attempt (attempts - 1): it is our shutdown, not the job's
 *   fault, and deploys must not exhaust a job's attempts. An expired lease does count: the
 *   worker may have died of that very job.
 * - A lease that expires with cancel_requested set ends cancelled, not queued.
 * - lease_expires_at is set only while running; lease_owner keeps the worker of the latest
 *   attempt once the job ended, and is cleared when the job goes back to queued. worker is
 *   set by every claim and never cleared: who ran the latest attempt, for operators.
 * - The version's status follows its job: pending (queued), training (running), ready
 *   (succeeded, weights written in the same statement), failed, cancelled.
 *
 * Times come from the database clock (now()), never from the workers', so that leases mean
 * the same thing on every machine.
 */

/** NOTIFY channel announcing that a job may be ready to claim; the payload is its id. */
export const jobsChannel = "nnserve_jobs";

/** Every column of training_jobs, named as Prisma's TrainingJob type names them. */
const jobColumns = (t: string) => `
  ${t}.id, ${t}.version_id AS "versionId", ${t}.status, ${t}.attempts,
  ${t}.max_attempts AS "maxAttempts", ${t}.lease_owner AS "leaseOwner", ${t}.worker,
  ${t}.lease_expires_at AS "leaseExpiresAt", ${t}.cancel_requested AS "cancelRequested",
  ${t}.epoch, ${t}.epochs, ${t}.metrics, ${t}.error, ${t}.idempotency_key AS "idempotencyKey",
  ${t}.request_hash AS "requestHash", ${t}.api_key_id AS "apiKeyId",
  ${t}.run_at AS "runAt", ${t}.created_at AS "createdAt", ${t}.started_at AS "startedAt",
  ${t}.finished_at AS "finishedAt", ${t}.updated_at AS "updatedAt",
  ${t}.time_budget_seconds AS "timeBudgetSeconds"`;

/** $n milliseconds from now, by the database clock. */
const msFromNow = (n: number) => `now() + $${n}::double precision * interval '1 millisecond'`;

/** Owned by the caller: $1 job id, $2 worker id. */
const owned = "id = $1 AND status = 'running' AND lease_owner = $2";

/** Owned by the caller, in attempt $n when $n is not null (the attempts the claim returned). */
const ownedAttempt = (n: number) => `${owned} AND ($${n}::integer IS NULL OR attempts = $${n})`;

/**
 * $1 worker id, $2 lease ms. A due queued job, skipping rows other claimers hold, with its
 * model's name and version number for the runner's logs. Fair between API keys: first the jobs
 * of the key with the fewest jobs running (jobs without a key count as one key), oldest first
 * within that; so one key's ten queued jobs take turns with another key's one, rather than
 * holding every training thread until they are all done.
 */
export const claimJob = `
WITH next AS (
  SELECT q.id FROM training_jobs q
   WHERE q.status = 'queued' AND q.run_at <= now()
   ORDER BY (SELECT count(*) FROM training_jobs r
              WHERE r.status = 'running' AND r.api_key_id IS NOT DISTINCT FROM q.api_key_id),
            q.created_at, q.id
   LIMIT 1
   FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE training_jobs AS job
     SET status = 'running', attempts = job.attempts + 1, lease_owner = $1, worker = $1,
         lease_expires_at = ${msFromNow(2)}, epoch = 0, metrics = NULL, error = NULL,
         started_at = now(), finished_at = NULL, updated_at = now()
    FROM next
   WHERE job.id = next.id
  RETURNING job.*
), forget_epochs AS (
  DELETE FROM epoch_metrics USING claimed WHERE epoch_metrics.job_id = claimed.id
), version AS (
  UPDATE model_versions SET status = 'training', updated_at = now()
    FROM claimed WHERE model_versions.id = claimed.version_id
)
SELECT ${jobColumns("claimed")}, m.name AS model, v.version AS "modelVersion"
  FROM claimed
  JOIN model_versions v ON v.id = claimed.version_id
  JOIN models m ON m.id = v.model_id`;

/** $1 job, $2 worker, $3 lease ms. */
export const heartbeat = `
UPDATE training_jobs SET lease_expires_at = ${msFromNow(3)}, updated_at = now()
 WHERE ${owned}
RETURNING cancel_requested AS "cancelRequested"`;

/**
 * $1 job, $2 worker, $3 the epochs as a JSON array of EpochMetrics rows (camelCase keys), $4
 * the latest epoch's metrics JSON for the job's row. One statement for any number of epochs:
 * fast epochs arrive faster than one round trip each could store them. Upserts: a row of the
 * same epoch can only be left over from an attempt claim did not clean up. Returns a row per
 * epoch stored, none when the caller does not own the job.
 */
export const recordEpochs = `
WITH epochs AS (
  SELECT * FROM jsonb_to_recordset($3::jsonb) AS e(
    epoch integer, loss double precision, "valLoss" double precision,
    accuracy double precision, "valAccuracy" double precision, mae double precision,
    "valMae" double precision, "learningRate" double precision, "durationMs" double precision)
), job AS (
  UPDATE training_jobs SET epoch = (SELECT max(epoch) FROM epochs), metrics = $4::jsonb,
         updated_at = now()
   WHERE ${owned}
  RETURNING id
)
INSERT INTO epoch_metrics AS m (job_id, epoch, loss, val_loss, accuracy, val_accuracy, mae,
                               val_mae, learning_rate, duration_ms)
SELECT job.id, e.epoch, e.loss, e."valLoss", e.accuracy, e."valAccuracy", e.mae, e."valMae",
       e."learningRate", e."durationMs"
  FROM job, epochs e
ON CONFLICT (job_id, epoch) DO UPDATE
   SET loss = excluded.loss, val_loss = excluded.val_loss, accuracy = excluded.accuracy,
       val_accuracy = excluded.val_accuracy, mae = excluded.mae, val_mae = excluded.val_mae,
       learning_rate = excluded.learning_rate, duration_ms = excluded.duration_ms,
       created_at = now()
RETURNING m.job_id`;

/**
 * $1 job, $2 worker, $3 weights bytea, $4 final metrics JSON, $5 attempt (or null), $6 the test
 * split's evaluation JSON (or null), $7 the optimizer state bytea (or null). Weights and
 * evaluation land with the status.
 */
export const completeJob = `
WITH job AS (
  UPDATE training_jobs
     SET status = 'succeeded', lease_expires_at = NULL, finished_at = now(), updated_at = now()
   WHERE ${ownedAttempt(5)}
  RETURNING id, version_id
), version AS (
  UPDATE model_versions
     SET weights = $3, metrics = $4::jsonb, evaluation = $6::jsonb, optimizer_state = $7,
         status = 'ready',
         trained_at = now(), updated_at = now()
    FROM job WHERE model_versions.id = job.version_id
)
SELECT id FROM job`;

/** $1 job, $2 worker, $3 reason, $4 retry wanted, $5 retry delay ms, $6 attempt (or null). */
export const failJob = `
WITH job AS (
  UPDATE training_jobs
     SET status = CASE WHEN $4 AND attempts < max_attempts AND NOT cancel_requested
                       THEN 'queued'::job_status ELSE 'failed'::job_status END,
         error = $3,
         lease_owner = CASE WHEN $4 AND attempts < max_attempts AND NOT cancel_requested
                            THEN NULL ELSE lease_owner END,
         lease_expires_at = NULL,
         run_at = CASE WHEN $4 AND attempts < max_attempts AND NOT cancel_requested
                       THEN ${msFromNow(5)} ELSE run_at END,
         finished_at = CASE WHEN $4 AND attempts < max_attempts AND NOT cancel_requested
                            THEN NULL ELSE now() END,
         updated_at = now()
   WHERE ${ownedAttempt(6)}
  RETURNING id, version_id, status
), version AS (
  UPDATE model_versions
     SET status = CASE WHEN job.status = 'queued' THEN 'pending'::version_status
                       ELSE 'failed'::version_status END,
         updated_at = now()
    FROM job WHERE model_versions.id = job.version_id
)
SELECT status FROM job`;

/**
 * $1 job, $2 worker, $3 attempt (or null). Back to queued without using up an attempt, or
 * cancelled if asked.
 */
export const releaseJob = `
WITH job AS (
  UPDATE training_jobs
     SET status = CASE WHEN cancel_requested THEN 'cancelled'::job_status
                       ELSE 'queued'::job_status END,
         attempts = CASE WHEN cancel_requested THEN attempts ELSE greatest(attempts - 1, 0) END,
         lease_owner = CASE WHEN cancel_requested THEN lease_owner END,
         lease_expires_at = NULL, run_at = now(),
         finished_at = CASE WHEN cancel_requested THEN now() END,
         updated_at = now()
   WHERE ${ownedAttempt(3)}
  RETURNING id, version_id, status
), version AS (
  UPDATE model_versions
     SET status = CASE WHEN job.status = 'queued' THEN 'pending'::version_status
                       ELSE 'cancelled'::version_status END,
         updated_at = now()
    FROM job WHERE model_versions.id = job.version_id
)
SELECT status FROM job`;

/** $1 job, $2 worker, $3 attempt (or null). The epoch rows and latest metrics stay. */
export const markCancelled = `
WITH job AS (
  UPDATE training_jobs
     SET status = 'cancelled', lease_expires_at = NULL, finished_at = now(), updated_at = now()
   WHERE ${ownedAttempt(3)}
  RETURNING id, version_id
), version AS (
  UPDATE model_versions SET status = 'cancelled', updated_at = now()
    FROM job WHERE model_versions.id = job.version_id
)
SELECT id FROM job`;

/** Expired leases: requeued, failed when out of attempts, cancelled when cancel was asked. */
export const reclaimExpired = `
WITH expired AS (
  SELECT id, lease_owner FROM training_jobs
   WHERE status = 'running' AND lease_expires_at < now()
   FOR UPDATE SKIP LOCKED
), job AS (
  UPDATE training_jobs AS job
     SET status = CASE WHEN job.cancel_requested THEN 'cancelled'::job_status
                       WHEN job.attempts < job.max_attempts THEN 'queued'::job_status
                       ELSE 'failed'::job_status END,
         error = CASE WHEN job.cancel_requested OR job.attempts < job.max_attempts THEN job.error
                      ELSE 'lease expired after ' || job.attempts || ' attempts' END,
         lease_owner = CASE WHEN job.cancel_requested OR job.attempts >= job.max_attempts
                            THEN job.lease_owner END,
         lease_expires_at = NULL,
         finished_at = CASE WHEN job.cancel_requested OR job.attempts >= job.max_attempts
                            THEN now() END,
         updated_at = now()
    FROM expired
   WHERE job.id = expired.id
  RETURNING job.id, job.version_id, job.status, job.attempts, expired.lease_owner
), version AS (
  UPDATE model_versions
     SET status = CASE job.status WHEN 'queued' THEN 'pending'::version_status
                                  WHEN 'cancelled' THEN 'cancelled'::version_status
                                  ELSE 'failed'::version_status END,
         updated_at = now()
    FROM job WHERE model_versions.id = job.version_id
)
SELECT job.id, job.status, job.attempts, job.lease_owner AS "previousWorker", m.name AS model,
       v.version AS "modelVersion"
  FROM job
  JOIN model_versions v ON v.id = job.version_id
  JOIN models m ON m.id = v.model_id
 ORDER BY job.id`;

/**
 * $1 job. Queued: cancelled at once. Running: cancel_requested, for its worker to act on.
 * Returns no row for a finished or unknown job; jobStatus tells which.
 */
export const cancelJob = `
WITH job AS (
  UPDATE training_jobs
     SET status = CASE WHEN status = 'queued' THEN 'cancelled'::job_status ELSE status END,
         cancel_requested = true,
         finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END,
         updated_at = now()
   WHERE id = $1 AND status IN ('queued', 'running')
  RETURNING id, version_id, status
), version AS (
  UPDATE model_versions SET status = 'cancelled', updated_at = now()
    FROM job WHERE model_versions.id = job.version_id AND job.status = 'cancelled'
)
SELECT status FROM job`;

/** $1 job. */
export const jobStatus = "SELECT status FROM training_jobs WHERE id = $1";

/** $1 job. The whole row, as claimJob returns it. */
export const getJob = `SELECT ${jobColumns("j")} FROM training_jobs j WHERE j.id = $1`;

/** $1 payload. Inside a transaction, Postgres delivers it only if and when that commits. */
export const notifyJobs = `SELECT pg_notify('${jobsChannel}', $1)`;
