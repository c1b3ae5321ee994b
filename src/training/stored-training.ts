/** A train request as the `training` column its version records (src/versions/stored-training.ts). */
import type { DropoutSpec } from "../engine/index.ts";
import type { StoredTraining } from "../versions/stored-training.ts";
import { DEFAULT_TEST_SPLIT, type ResolvedTrainRequest } from "./request.ts";

/** What the service works out beside the request: resolved class weights, the warm start. */
export interface StoredTrainingExtras {
  classWeights?: number[];
  from?: StoredTraining["from"];
}

/** Training-time dropout from the request's network (absent when nothing drops). */
export function dropoutOf(network: {
  inputDropout?: number | undefined;
  layers: { dropout?: number | undefined }[];
}): DropoutSpec | undefined {
  const layers = network.layers.map((l) => l.dropout ?? 0);
  const inputs = network.inputDropout ?? 0;
  if (inputs === 0 && layers.every((r) => r === 0)) return undefined;
  return { inputs, layers };
}

export function toStoredTraining(
  req: ResolvedTrainRequest,
  seed: number,
  labels = req.data?.labels !== undefined,
  extras: StoredTrainingExtras = {},
): StoredTraining {
  const { training } = req;
  const dropout = dropoutOf(req.network);
  return {
    loss: req.loss,
    optimizer: req.optimizer,
    epochs: training.epochs,
    batchSize: training.batchSize,
    shuffle: training.shuffle,
    seed,
    validationSplit: training.validationSplit,
    ...(training.earlyStopping ? { earlyStopping: training.earlyStopping } : {}),
    ...(dropout ? { dropout } : {}),
    ...(training.labelSmoothing ? { labelSmoothing: training.labelSmoothing } : {}),
    ...(extras.classWeights && training.classWeights
      ? { classWeights: extras.classWeights, classWeighting: training.classWeights }
      : {}),
    ...(extras.from ? { from: extras.from } : {}),
    ...(training.storeOptimizerState === false ? { storeOptimizerState: false } : {}),
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
