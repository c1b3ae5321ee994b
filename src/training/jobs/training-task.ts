/** Reads, for a claimed job, everything its worker thread needs: network, settings, examples. */

import type { TrainingJob } from "../../generated/prisma/client.ts";
import { bytesToFloat32, bytesToInt32 } from "../../platform/db/binary.ts";
import type { Database } from "../../platform/db/client.ts";
import { readStored } from "../../platform/db/stored-json.ts";
import type { TrainTask } from "../../platform/threads/tasks.ts";
import { storedArchitectureColumn } from "../../versions/stored-columns.ts";
import { storedTrainingColumn } from "../../versions/stored-training.ts";

export async function loadTrainingTask(
  db: Database,
  job: TrainingJob,
): Promise<Omit<TrainTask, "port">> {
  const version = await db.prisma.modelVersion.findUniqueOrThrow({
    where: { id: job.versionId },
    select: { architecture: true, training: true, weights: true, optimizerState: true },
  });
  const examples = await db.prisma.trainingData.findUniqueOrThrow({
    where: { jobId_split: { jobId: job.id, split: "train" } },
  });
  const of = `of the version of job ${job.id}`;
  const architecture = readStored(
    storedArchitectureColumn,
    version.architecture,
    `architecture ${of}`,
  );
  const training = readStored(storedTrainingColumn, version.training, `training ${of}`);
  const { loss, optimizer, epochs, batchSize, shuffle, seed, validationSplit, earlyStopping } =
    training;
  const { dropout, labelSmoothing, classWeights, storeOptimizerState, from } = training;
  const settings = {
    loss,
    optimizer,
    epochs,
    batchSize,
    shuffle,
    seed,
    validationSplit,
    ...(earlyStopping ? { earlyStopping } : {}),
    ...(dropout ? { dropout } : {}),
    ...(labelSmoothing ? { labelSmoothing } : {}),
    ...(classWeights ? { classWeights } : {}),
    ...(storeOptimizerState === false ? { storeOptimizerState } : {}),
  };
  // A warm start's version holds its starting weights (and optimizer state) until trained.
  const start =
    from && version.weights
      ? {
          start: {
            weights: new Uint8Array(version.weights),
            initialEpoch: from.initialEpoch,
            ...(version.optimizerState
              ? { optimizerState: new Uint8Array(version.optimizerState) }
              : {}),
          },
        }
      : {};
  return {
    jobId: job.id,
    ...start,
    network: { inputs: architecture.inputs, layers: architecture.layers },
    settings,
    data: {
      rows: examples.rows,
      inputs: bytesToFloat32(examples.inputs),
      ...(examples.targets ? { targets: bytesToFloat32(examples.targets) } : {}),
      ...(examples.labels ? { labels: bytesToInt32(examples.labels) } : {}),
    },
  };
}
