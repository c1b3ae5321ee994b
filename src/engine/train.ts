/**
 * fit(): epochs of shuffled mini-batches, with validation, early stopping, progress callbacks,
 * cancellation and divergence detection. Arguments are checked in train-options.ts; the
 * per-batch work is in backprop-trainer.ts (or perceptron-trainer.ts for a single layer of step
 * units); this file is the schedule around it.
 */
import { BackpropTrainer, type EpochTally } from "./backprop-trainer.ts";
import type { Dataset } from "./dataset.ts";
import { LOSS_INFO } from "./losses.ts";
import { judgedPerRow } from "./metrics.ts";
import type { Network } from "./network.ts";
import { restoreOptimizerState, saveOptimizerState } from "./optimizer-state.ts";
import { Optimizer } from "./optimizers.ts";
import { ParallelTrainer } from "./parallel-trainer.ts";
import { PerceptronTrainer } from "./perceptron-trainer.ts";
import { Random } from "./random.ts";
import { scheduledRate } from "./schedules.ts";
import { resolveTraining } from "./train-options.ts";
import type { EpochMetrics, TrainOptions, TrainResult } from "./train-types.ts";

export type { BatchProgress, EpochMetrics, TrainOptions, TrainResult } from "./train-types.ts";

/** How long fit may compute before letting the event loop run (abort messages, timers). */
const YIELD_EVERY_MS = 25;

const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    if (typeof setImmediate === "function") setImmediate(resolve);
    else setTimeout(resolve, 0);
  });

export async function fit(
  network: Network,
  data: Dataset,
  options: TrainOptions,
): Promise<TrainResult> {
  const r = resolveTraining(network, data, options);
  const { loss, epochs, batchSize, train, validation, stopper, signal, hasAccuracy } = r;
  const onBatch = options.onBatch;
  const onEpoch = options.onEpoch;
  const optimizer = new Optimizer(r.optimizer);
  network.setDropout(r.dropout);
  // Room for training batches and for validation chunks, so the arena never grows mid-fit.
  network.reserve(Math.max(batchSize, Math.min(validation?.rows ?? 0, 256)), optimizer.slots);
  optimizer.reset(network);
  if (r.optimizerState)
    restoreOptimizerState(network, optimizer, r.optimizerState, "optimizerState");
  const parallel =
    r.threads === 2 && !r.perceptron
      ? await ParallelTrainer.start(network, train, loss, optimizer, r.lossSettings)
      : undefined;
  const trainer = r.perceptron
    ? new PerceptronTrainer(network, train, loss === "mae")
    : (parallel ?? new BackpropTrainer(network, train, loss, optimizer, r.lossSettings));

  const random = new Random(r.seed);
  const order = new Int32Array(train.rows);
  for (let i = 0; i < order.length; i++) order[i] = i;
  // The order is reshuffled in place every epoch, so a continued run replays the shuffles.
  if (r.shuffle) for (let e = 1; e <= r.initialEpoch; e++) random.shuffle(order);
  const batches = Math.ceil(train.rows / batchSize);
  const history: EpochMetrics[] = [];
  const judged = r.perceptron
    ? network.outputs
    : judgedPerRow(LOSS_INFO[loss].code, network.outputs);
  let lastYield = performance.now();
  let stoppedEarly = false;
  let cancelled = false;

  try {
    const first = r.initialEpoch + 1;
    for (let epoch = first; epoch <= epochs && !cancelled && !stoppedEarly; epoch++) {
      const started = performance.now();
      let lr = r.optimizer.learningRate;
      if (r.shuffle) random.shuffle(order);
      if (r.dropout && trainer instanceof BackpropTrainer) {
        trainer.dropout = new Random(epochSeed(r.seed, epoch));
      }
      const tally: EpochTally = { lossSum: 0, correct: 0, absSum: 0 };
      for (let b = 0; b < batches; b++) {
        if (signal?.aborted) {
          cancelled = true;
          break;
        }
        const start = b * batchSize;
        const count = Math.min(batchSize, train.rows - start);
        lr = scheduledRate(r.optimizer.learningRate, r.optimizer.decay, epoch, b, batches, epochs);
        trainer.trainBatch(order, start, count, lr, tally, epoch, b + 1);
        if (onBatch && ((b + 1) % r.batchProgressEvery === 0 || b + 1 === batches)) {
          parallel?.settle(); // the callback may read the weights
          const progress = {
            epoch,
            epochs,
            batch: b + 1,
            batches,
            loss: tally.lossSum / (start + count),
          };
          const pending = onBatch(progress);
          if (pending) await pending;
        }
        const now = performance.now();
        if (now - lastYield > YIELD_EVERY_MS) {
          parallel?.settle(); // so may whatever runs in the event-loop turn
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      parallel?.settle();
      if (cancelled) break;

      const metrics: EpochMetrics = {
        epoch,
        epochs,
        loss: tally.lossSum / train.rows,
        learningRate: lr,
        durationMs: 0,
      };
      if (hasAccuracy) metrics.accuracy = tally.correct / (train.rows * judged);
      else metrics.mae = tally.absSum / (train.rows * network.outputs);
      if (validation) {
        const v = network.evaluateChecked(validation, loss);
        metrics.valLoss = v.loss;
        if (hasAccuracy) metrics.valAccuracy = v.accuracy ?? accuracyOfStep(network, validation);
        else metrics.valMae = v.mae;
      }
      metrics.durationMs = performance.now() - started;
      history.push(metrics);
      if (onEpoch) await onEpoch(metrics);
      if (stopper?.update(metrics, network) && epoch < epochs) stoppedEarly = true;
    }
  } finally {
    await parallel?.close();
  }

  const restoredBestWeights = !cancelled && stopper !== undefined && stopper.restore(network);
  const result: TrainResult = {
    history,
    epochsRun: history.length,
    stoppedEarly,
    cancelled,
    restoredBestWeights,
  };
  if (stopper?.bestEpoch !== undefined) result.bestEpoch = stopper.bestEpoch;
  // A cancelled run stopped mid-epoch: no state a continuation could start from.
  if (!r.perceptron && !cancelled) result.optimizerState = saveOptimizerState(network, optimizer);
  return result;
}

/** The dropout masks' seed of a 1-based epoch: splitmix-style mixing of (seed, epoch). */
export function epochSeed(seed: number, epoch: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d);
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Element-wise accuracy of a step network's 0/1 outputs (evaluate reports mae for mse/mae). */
function accuracyOfStep(network: Network, data: Dataset): number {
  const out = network.predict(data.inputs, data.rows);
  const t = data.targets!;
  let correct = 0;
  for (let i = 0; i < out.length; i++) if (out[i] === t[i]) correct++;
  return correct / out.length;
}
