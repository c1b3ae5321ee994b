/** Reads, for a claimed job, everything its worker thread needs: network, settings, examples. */

import type { NetworkSpec } from "../../engine/index.ts";
import type { TrainingJob } from "../../generated/prisma/client.ts";
import { bytesToFloat32, bytesToInt32 } from "../../platform/db/binary.ts";
import type { Database } from "../../platform/db/client.ts";
import type { TrainTask } from "../../platform/threads/tasks.ts";
import type { StoredTraining } from "../../versions/stored-training.ts";

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
  const architecture = version.architecture as unknown as NetworkSpec;
  const {
    labels: _labels,
    dataset: _dataset,
    from,
    ...settings
  } = version.training as unknown as StoredTraining;
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
