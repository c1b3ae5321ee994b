/**
 * The pieces of one mini-batch step that the one-thread trainer (backprop-trainer.ts) and both
 * threads of the two-thread one (parallel-trainer.ts, parallel-worker.ts) share: gather the rows,
 * forward with loss gradient and tally (whole, or a thread's share of the rows), and the
 * global-norm clip and update. They run once per batch on the training hot path, so nothing here
 * allocates (but for a shifted view of the loss buffers when a share's first row changes): the
 * tally goes into an object the caller made once.
 */
import type { Dataset } from "./dataset.ts";
import { TrainingDivergedError } from "./errors.ts";
import type { KernelSet } from "./kernel-set.ts";
import { gatherRows } from "./kernels.ts";
import { type LossInfo, type LossSettings, lossAndGradient, PLAIN_LOSS } from "./losses.ts";
import { absoluteErrorSum, countCorrect } from "./metrics.ts";
import type { Network } from "./network.ts";
import type { Optimizer } from "./optimizers.ts";
import type { Random } from "./random.ts";

/** One batch's (or a thread's share's) sums, before they join the epoch's. */
export interface BatchSums {
  lossSum: number;
  /** Correct judgements (classification losses; otherwise 0). */
  correct: number;
  /** Sum of absolute output errors (regression losses; otherwise 0). */
  absSum: number;
}

/**
 * Copies rows order[start..start+count) of `data` into a network's batch buffers in `m`: the
 * inputs at `input` (by `kernels`' gatherRows when it has one), and the labels into `labels` or
 * the targets at `targets`.
 */
export function gatherBatch(
  m: Float32Array,
  input: number,
  targets: number,
  labels: Int32Array,
  data: Dataset,
  labelsNeeded: boolean,
  order: Int32Array,
  start: number,
  count: number,
  inputs: number,
  outputs: number,
  kernels?: KernelSet,
): void {
  if (kernels?.gatherRows) kernels.gatherRows(m, input, data.inputs, order, start, count, inputs);
  else gatherRows(m, input, data.inputs, order, start, count, inputs);
  if (labelsNeeded) {
    const from = data.labels!;
    for (let t = 0; t < count; t++) labels[t] = from[order[start + t]];
  } else {
    gatherRows(m, targets, data.targets!, order, start, count, outputs);
  }
}

/** The rows of a batch of `count` the first thread takes; the second takes the rest. */
export function firstShare(count: number): number {
  return count - (count >> 1);
}

/**
 * Forward over the `rows` rows already gathered, the loss and its gradient at the head, and the
 * tally; writes them to `out` (and returns it). Backward is left to the caller, which may first
 * check the loss. `dropout` draws the batch's dropout masks (networks with setDropout).
 *
 * The tally's sums are taken as two parts, the rows two threads would take (firstShare), added
 * in that order: the same bits as two-thread training's (parallel-trainer.ts).
 */
export function forwardAndLoss(
  net: Network,
  loss: LossInfo,
  rows: number,
  out: BatchSums,
  settings: LossSettings = PLAIN_LOSS,
  dropout?: Random,
): BatchSums {
  net.forward(rows, dropout);
  return batchLoss(net, loss, rows, out, settings);
}

/**
 * The loss, its gradient and the tally of a batch of `rows` rows already forwarded (the head
 * activated), taken in forwardAndLoss's two parts: two-thread training takes it so too, on one
 * thread (parallel-trainer.ts).
 */
export function batchLoss(
  net: Network,
  loss: LossInfo,
  rows: number,
  out: BatchSums,
  settings: LossSettings = PLAIN_LOSS,
): BatchSums {
  const own = firstShare(rows);
  const { lossSum, correct, absSum } = lossPart(net, loss, 0, own, rows, out, settings);
  lossPart(net, loss, own, rows - own, rows, out, settings);
  out.lossSum = lossSum + out.lossSum;
  out.correct = correct + out.correct;
  out.absSum = absSum + out.absSum;
  return out;
}

/**
 * The loss, its gradient (of the mean over the whole batch of `total` rows) and the tally of
 * rows [first, first + rows), already forwarded; written to `out`.
 */
export function lossPart(
  net: Network,
  loss: LossInfo,
  first: number,
  rows: number,
  total: number,
  out: BatchSums,
  settings: LossSettings = PLAIN_LOSS,
): BatchSums {
  const m = net.memory;
  const N = net.outputs;
  const h = net.head;
  const buf = net.lossBuffersFrom(first);
  out.lossSum = lossAndGradient(m, loss.code, h.act, h.alpha, buf, rows, N, true, settings, total);
  out.correct = loss.classification
    ? countCorrect(m, loss.code, buf.a, buf.t, buf.labels, rows, N)
    : 0;
  out.absSum = loss.classification ? 0 : absoluteErrorSum(m, buf.a, buf.t, rows * N);
  return out;
}

/**
 * Divergence check on the batch gradients' norm (from `squares`, their sum of squares, which
 * backward returns), clip to `clipNorm` (0: none), update.
 */
export function clipAndStep(
  net: Network,
  optimizer: Optimizer,
  clipNorm: number,
  lr: number,
  epoch: number,
  batch: number,
  squares: number,
): void {
  const m = net.memory;
  const k = net.kernels;
  // The global gradient norm doubles as the divergence check on the gradients.
  const P = net.parameterBlock;
  const norm = Math.sqrt(squares);
  if (!Number.isFinite(norm)) throw new TrainingDivergedError(epoch, batch, "the gradient");
  if (clipNorm > 0 && norm > clipNorm) {
    k.scaleInPlace(m, P, P, clipNorm / (norm + 1e-6)); // torch.nn.utils.clip_grad_norm_
  }
  optimizer.step(net, lr);
}
