/**
 * Model-version JSON columns as the training service writes them, for tests that insert rows
 * directly. The columns are read back through their zod schemas, so a fixture must be a whole
 * record, not only the fields one test looks at.
 */
import type { LossName } from "../../src/engine/index.ts";
import type { Prisma } from "../../src/generated/prisma/client.ts";
import type { StoredTraining } from "../../src/versions/stored-training.ts";

export function storedTraining(
  loss: LossName,
  overrides: Partial<StoredTraining> = {},
): Prisma.InputJsonObject {
  const training: StoredTraining & { formatVersion: 1 } = {
    formatVersion: 1,
    loss,
    optimizer: { name: "sgd", learningRate: 0.01 },
    epochs: 1,
    batchSize: 4,
    shuffle: false,
    seed: 1,
    validationSplit: 0,
    labels: false,
    ...overrides,
  };
  return JSON.parse(JSON.stringify(training));
}
