/**
 * What a model version records about how it is trained, in its `training` JSON column: the
 * settings the worker runs with, defaults filled in and the seed fixed, so that the same
 * version can be trained again bit for bit.
 */

import type { DropoutSpec } from "../engine/index.ts";
import type { TrainingSettings } from "../platform/threads/tasks.ts";
import {
  type ClassWeightsRequest,
  DEFAULT_TEST_SPLIT,
  type ResolvedTrainRequest,
} from "../training/request.ts";

export interface StoredTraining extends TrainingSettings {
  /** The data came as class indices (sparse labels), so predictions report classes. */
  labels: boolean;
  /**
   * Trained from a dataset: which, and the share of its rows held back (the seed picks them),
   * so the split can be made again. The rest is in the version's preprocessing.
   */
  dataset?: { id: string; testSplit: number };
  /** As the request gave them ("balanced" or by class); the values used are `classWeights`. */
  classWeighting?: ClassWeightsRequest;
  /**
   * A continued run (warm start): the version it started from and the epochs its weights had;
   * this version's weights have initialEpoch + its own epochs.
   */
  from?: { model: string; version: number; initialEpoch: number; optimizerState: boolean };
}

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
