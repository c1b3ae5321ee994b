/**
 * What the training feature offers the transports (re-exported by src/transport/services.ts):
 * submit, jobs, metrics, cancel. Declared here, with the feature, so the feature depends on
 * nothing above it.
 */
import type { Job, JobListQuery, JobMetrics, JobPage } from "./jobs/schemas.ts";
import type { TrainRequest } from "./request.ts";

/** The API key submitting a job (AUTH on); a verified `Caller` (src/auth/key-store.ts) is one. */
export interface Submitter {
  keyId: string;
  /** The key's public prefix, the only part of it an error message may name. */
  prefix: string;
}

export interface SubmitOptions {
  /**
   * Same key and same request: return the first job (`created: false`). Same key with a
   * different request: throw idempotencyKeyReused().
   */
  idempotencyKey?: string;
  /**
   * The job is linked to this API key, and the key's limit of queued and running jobs is
   * checked, in the transaction that creates the job; past the limit, throws tooManyJobs().
   */
  submitter?: Submitter;
  /**
   * The study this job is a trial segment of (src/training/studies): its version is created as
   * the study's candidate, never served as the model's newest ready version until it wins.
   */
  studyId?: string;
}

export interface SubmitResult {
  job: Job;
  /** False when the idempotency key was seen before and `job` is the earlier one. */
  created: boolean;
}

export interface TrainingService {
  /** Allocates the next version of `req.model` and queues its training job. */
  submit(req: TrainRequest, options?: SubmitOptions): Promise<SubmitResult>;
  /** Throws notFound("job", id). */
  getJob(id: string): Promise<Job>;
  /** Newest first; `nextCursor` is opaque to clients. */
  listJobs(query: JobListQuery): Promise<JobPage>;
  /**
   * Every finished epoch in order, or only those after `afterEpoch` (a follower that has the
   * rest); throws notFound("job", id).
   */
  jobMetrics(id: string, afterEpoch?: number): Promise<JobMetrics>;
  /**
   * Queued jobs are cancelled at once, running ones at their next epoch boundary. Throws
   * conflict(...) when the job already finished, notFound("job", id) when it does not exist.
   */
  cancel(id: string): Promise<Job>;
}
