/**
 * Training jobs as clients see them: the job view, the list query and page, and the per-epoch
 * metrics. Dates are ISO 8601 strings so REST and gRPC share one view; services convert.
 */
import { z } from "zod";
import { isoDateTime, modelName, strictObject, uuid } from "../../platform/validation/common.ts";
import { epochMetricsSchema, metricValue } from "../../versions/metrics-view.ts";

/**
 * queued -> running -> succeeded | failed | cancelled; a running job whose lease expires goes
 * back to queued until it has used its attempts.
 */
export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINISHED_JOB_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

export const jobStatusSchema = z.enum(JOB_STATUSES);

// The metrics shape is a version's as much as a job's, so it lives with the version.
export { type EpochMetrics, epochMetricsSchema } from "../../versions/metrics-view.ts";

export const jobSchema = z
  .object({
    id: uuid,
    model: z.string(),
    version: z.int(),
    status: jobStatusSchema,
    attempts: z.int(),
    /**
     * The job runner (host:pid:id) that holds the job, or held its latest attempt; null until
     * first claimed. The same id is on the runner's log lines as workerId.
     */
    worker: z.string().nullable(),
    /** Epochs done of the epochs asked for; a run that stopped early reads epoch of epoch. */
    progress: z.object({ epoch: z.int(), epochs: z.int() }),
    /** Succeeded jobs: early stopping ended the run before its epochs. */
    stoppedEarly: z.boolean(),
    /** The best epoch early stopping saw; null without early stopping or before the end. */
    bestEpoch: z.int().nullable(),
    /** The latest epoch's metrics; null before the first epoch ends. */
    metrics: epochMetricsSchema.nullable(),
    /** True once cancel was asked for; a running job stops at its next epoch boundary. */
    cancelRequested: z.boolean(),
    /** Why the job failed; null otherwise. */
    error: z.string().nullable(),
    createdAt: isoDateTime,
    startedAt: isoDateTime.nullable(),
    finishedAt: isoDateTime.nullable(),
  })
  .meta({ id: "Job" });
export type Job = z.output<typeof jobSchema>;

export const jobParamsSchema = strictObject({ id: uuid });

export const JOB_PAGE_DEFAULT = 20;
export const JOB_PAGE_MAX = 100;

export const jobListQuerySchema = strictObject({
  status: jobStatusSchema.optional(),
  model: modelName.optional(),
  limit: z.coerce
    .number<string | number>()
    .pipe(
      z
        .int(`must be a whole number from 1 to ${JOB_PAGE_MAX}`)
        .min(1, `must be a whole number from 1 to ${JOB_PAGE_MAX}`)
        .max(JOB_PAGE_MAX, `must be a whole number from 1 to ${JOB_PAGE_MAX}`),
    )
    .default(JOB_PAGE_DEFAULT),
  /** Opaque: the nextCursor of the previous page, newest jobs first. */
  cursor: z.string().min(1).max(512).optional(),
});
export type JobListQuery = z.output<typeof jobListQuerySchema>;

export const jobPageSchema = z
  .object({
    items: z.array(jobSchema),
    /** Null on the last page. */
    nextCursor: z.string().nullable(),
  })
  .meta({ id: "JobPage" });
export type JobPage = z.output<typeof jobPageSchema>;

export const jobMetricsSchema = z
  .object({
    jobId: uuid,
    epochs: z.array(
      epochMetricsSchema.extend({
        epoch: z.int(),
        learningRate: metricValue.optional(),
        durationMs: z.number(),
      }),
    ),
  })
  .meta({ id: "JobMetrics" });
export type JobMetrics = z.output<typeof jobMetricsSchema>;
