import { randomUUID } from "node:crypto";
import type { PrismaClient, TrainingJob } from "../../../src/generated/prisma/client.ts";
import { float32ToBytes } from "../../../src/platform/db/binary.ts";
import { type CreateJobInput, createJob } from "../../../src/training/jobs/create-job.ts";
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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
