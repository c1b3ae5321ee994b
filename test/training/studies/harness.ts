/**
 * Deciders without a job runner, for the tests of decisions: a StudyConductor on a database
 * client of its own (as another replica would have), and a stand-in for the runner that ends
 * every queued segment with made-up epochs and a final metric chosen per trial, so the test
 * decides who wins without training anything.
 */
import { createDatasetService } from "../../../src/datasets/service.ts";
import { createDatabase, type Database } from "../../../src/platform/db/client.ts";
import { toStoredJson } from "../../../src/platform/db/stored-json.ts";
import { createLogger } from "../../../src/platform/logger.ts";
import type { TrainingService } from "../../../src/training/contract.ts";
import { createJobQueue } from "../../../src/training/jobs/job-queue.ts";
import { createTrainingService } from "../../../src/training/service.ts";
import { StudyConductor } from "../../../src/training/studies/conductor.ts";

export interface Decider {
  db: Database;
  training: TrainingService;
  conductor: StudyConductor;
}

/** A conductor on its own pool, not started: the test calls reconcile() itself. */
export function decider(url: string, maxQueuedJobsPerKey = 0): Decider {
  const db = createDatabase({ url, poolSize: 4 });
  const training = createTrainingService({
    db,
    queue: createJobQueue({ pool: db.pool }),
    datasets: createDatasetService({ db }),
    maxAttempts: 3,
    maxQueuedJobsPerKey,
  });
  const logger = createLogger({ level: "silent" });
  return {
    db,
    training,
    conductor: new StudyConductor({ prisma: db.prisma, training, logger, tickMs: 60_000 }),
  };
}

/** valLoss of trial n's segment k: lower for some trials, improving with each segment. */
export type MetricOf = (trial: number, segment: number) => number;

export const defaultMetric: MetricOf = (trial, segment) =>
  ((trial * 7) % 9) / 10 + 1 / (segment + 2);

/**
 * Claims and completes every queued job, as a runner would: an epoch row per epoch (the last
 * one's valLoss the metric) and the final metrics on the version. Returns the jobs ended.
 */
export async function completeQueued(db: Database, metricOf: MetricOf = defaultMetric) {
  const queue = createJobQueue({ pool: db.pool });
  const ended: { id: string; trial: number; segment: number }[] = [];
  for (;;) {
    const job = await queue.claimJob({ workerId: "test-runner", leaseMs: 60_000 });
    if (!job) return ended;
    // A job that is no study's segment (no key) counts as trial 0's first.
    const [, trial = "0", segment = "0"] =
      /:trial:(\d+):segment:(\d+)$/.exec(job.idempotencyKey ?? "") ?? [];
    const metric = metricOf(Number(trial), Number(segment));
    const epochs = Array.from({ length: job.epochs }, (_, i) => ({
      epoch: i + 1,
      loss: metric + 0.1,
      valLoss: metric + (job.epochs - 1 - i) / 100,
      learningRate: 0.001,
      durationMs: 1,
    }));
    await queue.recordEpochs(job.id, "test-runner", epochs);
    await queue.completeJob(job.id, "test-runner", {
      weights: new Uint8Array(8),
      metrics: toStoredJson({ epoch: job.epochs, loss: metric + 0.1, valLoss: metric }),
      attempt: job.attempts,
    });
    ended.push({ id: job.id, trial: Number(trial), segment: Number(segment) });
  }
}
