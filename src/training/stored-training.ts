/** A train request as the `training` column its version records (src/versions/stored-training.ts). */
import type { StoredTraining } from "../versions/stored-training.ts";
import { DEFAULT_TEST_SPLIT, type TrainRequest } from "./request.ts";

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
