/**
 * Where a request's network, loss, optimizer and training settings come from when it leaves
 * them out: its own first; with `from`, the source version's (the same settings train on);
 * otherwise, with a dataset, the default recipe's (recipe.ts).
 */
import { applyRecipe, type DataShape } from "./recipe.ts";
import {
  DEFAULT_REQUEST_OPTIMIZER,
  definedOnly,
  type ResolvedTrainRequest,
  TRAINING_DEFAULTS,
  type TrainingRequest,
  type TrainRequest,
} from "./request.ts";
import { sourceNetwork, type WarmStart } from "./warm-start.ts";

export function resolveRequest(
  req: TrainRequest,
  source: WarmStart | undefined,
  shape: DataShape,
): ResolvedTrainRequest {
  const given = req.network;
  if (!source && !given) return applyRecipe(req, shape);
  const s = source?.training;
  // Field by field: the request's own, else the source's (warm start), else the defaults.
  const training = {
    ...TRAINING_DEFAULTS,
    ...(s
      ? {
          epochs: s.epochs,
          batchSize: s.batchSize,
          shuffle: s.shuffle,
          validationSplit: s.validationSplit,
          ...(s.earlyStopping ? { earlyStopping: s.earlyStopping } : {}),
          ...(s.labelSmoothing ? { labelSmoothing: s.labelSmoothing } : {}),
          ...(s.classWeighting ? { classWeights: s.classWeighting } : {}),
        }
      : {}),
    ...definedOnly(req.training ?? {}),
  } as TrainingRequest;
  const network = given ?? sourceNetwork(source!);
  if (!given && s?.dropout) {
    // The source's dropout goes on with its settings, as its other training settings do.
    network.inputDropout = s.dropout.inputs;
    network.layers.forEach((l, i) => {
      const rate = s.dropout?.layers?.[i] ?? 0;
      if (rate > 0) l.dropout = rate;
    });
  }
  return {
    ...req,
    network,
    loss: req.loss ?? s!.loss,
    optimizer:
      req.optimizer ??
      (s?.optimizer as ResolvedTrainRequest["optimizer"]) ??
      DEFAULT_REQUEST_OPTIMIZER,
    training,
  };
}
