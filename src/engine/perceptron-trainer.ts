/**
 * The perceptron rule (Rosenblatt) for a single layer of `step` units, which has no gradient:
 * for each sample, y = step(x·W + b), then W += lr·(t − y)·xᵀ and b += lr·(t − y). Updates are
 * per sample (online), whatever the batch size; batches only pace progress and cancellation.
 * The reported loss is measured on each sample's prediction before its update.
 */
import type { EpochTally } from "./backprop-trainer.ts";
import type { Dataset } from "./dataset.ts";
import type { Network } from "./network.ts";

export class PerceptronTrainer {
  private readonly network: Network;
  private readonly data: Dataset;
  private readonly absolute: boolean;

  /** `absolute`: report mean absolute error (mae) rather than squared error (mse). */
  constructor(network: Network, data: Dataset, absolute: boolean) {
    this.network = network;
    this.data = data;
    this.absolute = absolute;
  }

  trainBatch(
    order: Int32Array,
    start: number,
    count: number,
    lr: number,
    tally: EpochTally,
  ): number {
    const net = this.network;
    const m = net.memory;
    const l = net.head;
    const K = l.inputs;
    const N = l.units;
    const x = this.data.inputs;
    const t = this.data.targets!;
    let batchLoss = 0;
    for (let s = start; s < start + count; s++) {
      const row = order[s];
      let rowLoss = 0;
      for (let j = 0; j < N; j++) {
        // z = Σ_k x_k·W[k, j] + b_j, with W row-major [K × N].
        let z = m[l.bias + j];
        for (let k = 0; k < K; k++) z += x[row * K + k] * m[l.weights + k * N + j];
        const y = z > 0 ? 1 : 0;
        const err = t[row * N + j] - y;
        if (err === 0) {
          tally.correct++;
          continue;
        }
        rowLoss += this.absolute ? Math.abs(err) : err * err;
        tally.absSum += Math.abs(err);
        for (let k = 0; k < K; k++) m[l.weights + k * N + j] += lr * err * x[row * K + k];
        m[l.bias + j] += lr * err;
      }
      batchLoss += rowLoss / N;
    }
    tally.lossSum += batchLoss;
    return batchLoss / count;
  }
}
