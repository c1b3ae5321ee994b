/**
 * In-memory test doubles of the service interfaces (src/transport/services.ts), for transport tests
 * only: they model what a service promises (ids, idempotency, notFound, conflict), not storage.
 */
import { randomUUID } from "node:crypto";
import { conflict, notFound } from "../../../src/platform/errors.ts";
import type { ReadinessReport } from "../../../src/platform/readiness-schema.ts";
import { FINISHED_JOB_STATUSES, type Job } from "../../../src/training/jobs/schemas.ts";
import type { TrainRequest } from "../../../src/training/request.ts";
import type { Services, SubmitOptions } from "../../../src/transport/services.ts";
import type { Model } from "../../../src/versions/schemas.ts";

export interface FakeServices extends Services {
  jobs: Map<string, Job>;
  submitted: { request: TrainRequest; options: SubmitOptions | undefined }[];
  readinessReport: ReadinessReport;
}

export function fakeJob(overrides: Partial<Job> = {}): Job {
  return {
    id: randomUUID(),
    model: "xor",
    version: 1,
    status: "queued",
    attempts: 0,
    worker: null,
    progress: { epoch: 0, epochs: 500 },
    stoppedEarly: false,
    bestEpoch: null,
    metrics: null,
    cancelRequested: false,
    error: null,
    createdAt: "2026-11-27T04:00:00.000Z",
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

export function createFakeServices(): FakeServices {
  const jobs = new Map<string, Job>();
  const byKey = new Map<string, Job>();
  const submitted: FakeServices["submitted"] = [];
  const versions = new Map<string, number>();
  const models = new Map<string, Model>();

  const getJob = async (id: string) => {
    const job = jobs.get(id);
    if (!job) throw notFound("job", id);
    return job;
  };

  const fake: FakeServices = {
    jobs,
    submitted,
    readinessReport: { ready: true, checks: { database: { ok: true, latencyMs: 1 } } },
    // Datasets are tested on Postgres (test/transport/http/datasets.test.ts); here none exists.
    datasets: {
      create: async () => {
        throw new Error("fake datasets store nothing");
      },
      list: async () => ({ items: [], nextCursor: null }),
      get: async (id) => {
        throw notFound("dataset", id);
      },
      delete: async (id) => {
        throw notFound("dataset", id);
      },
      load: async (id) => {
        throw notFound("dataset", id);
      },
    },
    training: {
      async submit(request, options) {
        submitted.push({ request, options });
        const key = options?.idempotencyKey;
        const seen = key === undefined ? undefined : byKey.get(key);
        if (seen) return { job: seen, created: false };
        const version = (versions.get(request.model) ?? 0) + 1;
        versions.set(request.model, version);
        const job = fakeJob({
          model: request.model,
          version,
          progress: { epoch: 0, epochs: request.training?.epochs ?? 0 },
        });
        jobs.set(job.id, job);
        if (key !== undefined) byKey.set(key, job);
        return { job, created: true };
      },
      getJob,
      async listJobs(query) {
        const items = [...jobs.values()]
          .filter((job) => !query.status || job.status === query.status)
          .filter((job) => !query.model || job.model === query.model)
          .slice(0, query.limit);
        return { items, nextCursor: null };
      },
      async jobMetrics(id) {
        await getJob(id);
        return { jobId: id, epochs: [{ epoch: 1, loss: 0.5, accuracy: 0.5, durationMs: 2 }] };
      },
      async cancel(id) {
        const job = await getJob(id);
        if (FINISHED_JOB_STATUSES.includes(job.status)) {
          throw conflict(
            `Job ${id} already ${job.status}; only queued or running jobs can be cancelled.`,
          );
        }
        const cancelled = { ...job, cancelRequested: true };
        jobs.set(id, cancelled);
        return cancelled;
      },
    },
    prediction: {
      async predict(request) {
        const model = models.get(request.model);
        if (!model) throw notFound("model", request.model);
        return {
          model: request.model,
          version: request.version ?? model.latestVersion ?? 1,
          outputs: (request.inputs as number[][]).map((row) => [row.reduce((a, b) => a + b, 0)]),
        };
      },
      async predictRows(target, request) {
        const model = models.get(target.model);
        if (!model) throw notFound("model", target.model);
        const outputs = new Float32Array(request.rows);
        for (let r = 0; r < request.rows; r++) {
          for (let c = 0; c < request.width; c++)
            outputs[r] += request.values[r * request.width + c]!;
        }
        return {
          model: target.model,
          version: target.version ?? model.latestVersion ?? 1,
          rows: request.rows,
          units: 1,
          outputs,
        };
      },
    },
    models: {
      async list() {
        return { items: [...models.values()].map(({ versions: _, ...summary }) => summary) };
      },
      async get(name) {
        const model = models.get(name);
        if (!model) throw notFound("model", name);
        return model;
      },
      async delete(name) {
        if (!models.delete(name)) throw notFound("model", name);
      },
    },
    // The real one is tested on Postgres (test/e2e/model-files.test.ts).
    modelFiles: {
      async exportOnnx(name) {
        throw notFound("model", name);
      },
      async exportFile(name) {
        throw notFound("model", name);
      },
      async importFile(name) {
        throw notFound("model", name);
      },
    },
    readiness: {
      async check() {
        return fake.readinessReport;
      },
    },
  };

  models.set("xor", {
    name: "xor",
    latestVersion: 1,
    versionCount: 1,
    createdAt: "2026-11-27T04:00:00.000Z",
    updatedAt: "2026-11-27T04:00:00.000Z",
    versions: [],
  });
  return fake;
}
