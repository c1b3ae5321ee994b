/**
 * One mini-batch of gradient descent: gather the batch into the arena, forward, loss gradient,
 * backward, clip, update. Nothing here allocates.
 */

import { type BatchSums, clipAndStep, forwardAndLoss, gatherBatch } from "./batch-step.ts";
import type { Dataset } from "./dataset.ts";
import { TrainingDivergedError } from "./errors.ts";
import { canFuse, FusedStep } from "./fused-step.ts";
import { LOSS_INFO, type LossInfo, type LossSettings, PLAIN_LOSS } from "./losses.ts";
import type { Network } from "./network.ts";
import type { Optimizer } from "./optimizers.ts";
import type { Random } from "./random.ts";
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
  private readonly loss: LossInfo;
  private readonly clipNorm: number;
  /** This batch's sums, reused across batches. */
  private readonly sums: BatchSums = { lossSum: 0, correct: 0, absSum: 0 };
  private readonly settings: LossSettings;
  /** The fused weight gradients and Adam (fused-step.ts), where the kernels and optimizer allow. */
  private readonly fused: FusedStep | undefined;
  /** Draws the dropout masks (fit sets one per epoch); undefined: no dropout. */
  dropout: Random | undefined;

  constructor(
    network: Network,
    data: Dataset,
    loss: LossName,
    optimizer: Optimizer,
    settings: LossSettings = PLAIN_LOSS,
  ) {
    this.network = network;
    this.settings = settings;
    this.data = data;
    this.optimizer = optimizer;
    this.loss = LOSS_INFO[loss];
    this.clipNorm = optimizer.config.clipNorm ?? 0;
    this.fused = canFuse(network.kernels, optimizer.config)
      ? new FusedStep(optimizer.config)
      : undefined;
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
    const loss = this.loss;
    gatherBatch(
      net.memory,
      net.input,
      net.targets,
      net.labels,
      this.data,
      loss.needsLabels,
      order,
      start,
      count,
      net.inputs,
      net.outputs,
      net.kernels,
    );
    const { lossSum, correct, absSum } = forwardAndLoss(
      net,
      loss,
      count,
      this.sums,
      this.settings,
      this.dropout,
    );
    if (!Number.isFinite(lossSum)) throw new TrainingDivergedError(epoch, batch, "the loss");
    tally.lossSum += lossSum;
    if (loss.classification) tally.correct += correct;
    else tally.absSum += absSum;
    if (this.fused) {
      // Every delta first (they read the weights), then the weight steps, which update them.
      net.backwardDeltas(0, count, net.scratch);
      const o = this.optimizer;
      o.advance();
      this.fused.settings(lr, o.correction1, o.correction2);
      const squares = this.fused.run(net, count);
      if (!Number.isFinite(Math.sqrt(squares)))
        throw new TrainingDivergedError(epoch, batch, "the gradient");
    } else {
      net.backward(count);
      clipAndStep(net, this.optimizer, this.clipNorm, lr, epoch, batch, net.gradientSquares());
    }
    return lossSum / count;
  }
}
