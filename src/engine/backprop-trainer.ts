/**
 * One mini-batch of gradient descent: gather the batch into the arena, forward, loss gradient,
 * backward, clip, update. Nothing here allocates.
 */

import type { Dataset } from "./dataset.ts";
import { TrainingDivergedError } from "./errors.ts";
import { gatherRows } from "./kernels.ts";
import { LOSS_INFO, lossAndGradient } from "./losses.ts";
import { absoluteErrorSum, countCorrect } from "./metrics.ts";
import type { Network } from "./network.ts";
import type { Optimizer } from "./optimizers.ts";
import type { LossName } from "./spec.ts";

/** Running sums over an epoch's batches. */
export interface EpochTally {
  lossSum: number;
  correct: number;
  absSum: number;
}

export class BackpropTrainer {
  private readonly network: Network;
  private readonly data: Dataset;
  private readonly optimizer: Optimizer;
  private readonly loss: number;
  private readonly labelsNeeded: boolean;
  private readonly classification: boolean;
  private readonly clipNorm: number;

  constructor(network: Network, data: Dataset, loss: LossName, optimizer: Optimizer) {
    this.network = network;
    this.data = data;
    this.optimizer = optimizer;
    const info = LOSS_INFO[loss];
    this.loss = info.code;
    this.labelsNeeded = info.needsLabels;
    this.classification = info.classification;
    this.clipNorm = optimizer.config.clipNorm ?? 0;
  }

  /** Trains on rows order[start..start+count); adds to `tally`; returns the batch's mean loss. */
  trainBatch(
    order: Int32Array,
    start: number,
    count: number,
    lr: number,
    tally: EpochTally,
    epoch: number,
    batch: number,
  ): number {
    const net = this.network;
    const m = net.memory;
    const N = net.outputs;
    const data = this.data;
    gatherRows(m, net.input, data.inputs, order, start, count, net.inputs);
    if (this.labelsNeeded) {
      const labels = data.labels!;
      for (let t = 0; t < count; t++) net.labels[t] = labels[order[start + t]];
    } else {
      gatherRows(m, net.targets, data.targets!, order, start, count, N);
    }
    const a = net.forward(count);
    const h = net.head;
    const lossSum = lossAndGradient(
      m,
      this.loss,
      h.act,
      h.alpha,
      net.lossBuffers(),
      count,
      N,
      true,
    );
    if (!Number.isFinite(lossSum)) throw new TrainingDivergedError(epoch, batch, "the loss");
    tally.lossSum += lossSum;
    if (this.classification)
      tally.correct += countCorrect(m, this.loss, a, net.targets, net.labels, count, N);
    else tally.absSum += absoluteErrorSum(m, a, net.targets, count * N);

    net.backward(count);
    // The global gradient norm doubles as the divergence check on the gradients.
    const P = net.parameterBlock;
    const norm = Math.sqrt(net.kernels.sumOfSquares(m, P, P));
    if (!Number.isFinite(norm)) throw new TrainingDivergedError(epoch, batch, "the gradient");
    if (this.clipNorm > 0 && norm > this.clipNorm) {
      net.kernels.scaleInPlace(m, P, P, this.clipNorm / (norm + 1e-6)); // torch.nn.utils.clip_grad_norm_
    }
    this.optimizer.step(net, lr);
    return lossSum / count;
  }
}
