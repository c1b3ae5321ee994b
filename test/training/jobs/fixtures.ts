import { randomUUID } from "node:crypto";
import type { PrismaClient, TrainingJob } from "../../../src/generated/prisma/client.ts";
import { float32ToBytes } from "../../../src/platform/db/binary.ts";
import { type CreateJobInput, createJob } from "../../../src/training/jobs/create-job.ts";
import type { Queryable } from "../../../src/training/jobs/job-queue.ts";
import { storedTraining } from "../../helpers/stored-rows.ts";

/** A model with one version and a queued job for it, created as the training service would. */
export async function enqueueJob(
  prisma: PrismaClient,
  job: Partial<Omit<CreateJobInput, "versionId">> = {},
): Promise<TrainingJob> {
  return prisma.$transaction(async (tx) => {
    const model = await tx.model.create({ data: { name: `model-${randomUUID()}` } });
    const version = await tx.modelVersion.create({
      data: {
        modelId: model.id,
        version: 1,
        architecture: { inputs: 1, layers: [{ units: 1, activation: "linear" }] },
        training: storedTraining("mse"),
      },
    });
    return createJob(tx, {
      versionId: version.id,
      epochs: 3,
      data: [
        {
          rows: 2,
          inputWidth: 1,
          inputs: float32ToBytes(new Float32Array([0, 1])),
          targetWidth: 1,
          targets: float32ToBytes(new Float32Array([1, 3])),
        },
      ],
      ...job,
    });
  });
}

/**
 * Ends a job's lease now, as time would: the deterministic stand-in for waiting it out (the
 * queue compares lease_expires_at with Postgres' clock, so a sleep would race it).
 */
export async function expireLease(pool: Queryable, jobId: string): Promise<void> {
  const { rowCount } = await pool.query(
    "UPDATE training_jobs SET lease_expires_at = now() - interval '1 millisecond' WHERE id = $1 AND lease_expires_at IS NOT NULL",
    [jobId],
  );
  if (rowCount !== 1) throw new Error(`job ${jobId} holds no lease to expire`);
}

/** What a worker needs for a job: a one-unit linear network on two rows, two epochs of SGD. */
export function tinyTask(jobId: string) {
  return {
    jobId,
    network: { inputs: 1, layers: [{ units: 1, activation: "linear" as const }] },
    settings: {
      loss: "mse" as const,
      optimizer: { name: "sgd" as const },
      epochs: 2,
      batchSize: 2,
      shuffle: false,
      seed: 1,
      validationSplit: 0,
    },
    data: { rows: 2, inputs: new Float32Array([0, 1]), targets: new Float32Array([1, 3]) },
  };
}
