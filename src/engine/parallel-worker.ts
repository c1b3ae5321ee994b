/**
 * The helper thread of ParallelTrainer (parallel-trainer.ts): a second view of the same
 * network over the same shared WebAssembly memory and base, reading the parameters in place,
 * with its own gradients and batch buffers past the main arena. It waits for a batch half, runs
 * forward, loss gradient and backward on it, writes its tally, and signals; nothing else.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type BatchSums, forwardAndLoss } from "./batch-step.ts";
import { LOSS_INFO } from "./losses.ts";
import { Network } from "./network.ts";
import {
  ABS_SUM,
  CORRECT,
  COUNT,
  DONE,
  FAILED,
  type HelperData,
  LOSS_SUM,
  SEQ,
  STOP,
} from "./parallel-trainer.ts";
import { WasmKernels } from "./wasm-kernels.ts";

const d = workerData as HelperData;
const kernels = new WasmKernels(
  d.backend,
  d.module as ConstructorParameters<typeof WasmKernels>[1],
  d.memory as ConstructorParameters<typeof WasmKernels>[2],
);
const net = new Network(d.spec, { kernelSet: kernels });
net.reserveHelper(d.capacity, d.origin);
const ctrl = new Int32Array(d.ctrl);
const results = new Float64Array(d.results);
const labels = new Int32Array(d.labels);
const info = LOSS_INFO[d.loss];
const sums: BatchSums = { lossSum: 0, correct: 0, absSum: 0 };
parentPort!.postMessage({ input: net.input, targets: net.targets, gradients: net.gradients });

let seen = 0;
for (;;) {
  Atomics.wait(ctrl, SEQ, seen);
  seen = Atomics.load(ctrl, SEQ);
  if (Atomics.load(ctrl, STOP)) break;
  try {
    const rows = Atomics.load(ctrl, COUNT);
    if (info.needsLabels) net.labels.set(labels.subarray(0, rows));
    forwardAndLoss(net, info, rows, sums);
    results[LOSS_SUM] = sums.lossSum;
    results[CORRECT] = sums.correct;
    results[ABS_SUM] = sums.absSum;
    net.backward(rows);
  } catch {
    Atomics.store(ctrl, FAILED, 1);
  }
  Atomics.store(ctrl, DONE, seen);
  Atomics.notify(ctrl, DONE);
}
