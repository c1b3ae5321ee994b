/**
 * What a model version records about how it is trained, in its `training` JSON column: the
 * settings the worker runs with, defaults filled in and the seed fixed, so that the same
 * version can be trained again bit for bit.
 */

import type { TrainingSettings } from "../platform/threads/tasks.ts";
import { DEFAULT_TEST_SPLIT, type TrainRequest } from "../training/request.ts";

export interface StoredTraining extends TrainingSettings {
  /** The data came as class indices (sparse labels), so predictions report classes. */
  labels: boolean;
  /**
   * Trained from a dataset: which, and the share of its rows held back (the seed picks them),
   * so the split can be made again. The rest is in the version's preprocessing.
   */
  dataset?: { id: string; testSplit: number };
}

export function toStoredTraining(
  req: TrainRequest,
  seed: number,
  labels = req.data?.labels !== undefined,
): StoredTraining {
  const { training } = req;
  return {
    loss: req.loss,
    optimizer: req.optimizer,
    epochs: training.epochs,
    batchSize: training.batchSize,
    shuffle: training.shuffle,
    seed,
    validationSplit: training.validationSplit,
    ...(training.earlyStopping ? { earlyStopping: training.earlyStopping } : {}),
    labels,
    ...(req.dataset === undefined
      ? {}
      : {
          dataset: {
            id: req.dataset,
            testSplit: training.testSplit ?? DEFAULT_TEST_SPLIT,
          },
        }),
  };
}
