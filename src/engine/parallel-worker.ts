/**
 * The helper thread of ParallelTrainer (parallel-trainer.ts): a second view of the same
 * network over the same shared memory (WebAssembly, or a SharedArrayBuffer for the native
 * kernels), base and layout, with only its scratch block of its own. With the native kernels it
 * claims chunks of each batch's passes with the main thread (dynamicBatch below). With
 * WebAssembly, per batch it waits for its
 * rows (the batch's second share), runs forward, loss gradient and the deltas on them, writes its
 * tally and signals; once the main thread's deltas are written too, the weight gradients of its
 * range [split, P) over all rows and their squares, signals; and once the main thread has
 * checked the norm, the optimizer over that range.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type BatchSums, lossPart } from "./batch-step.ts";
import { ColumnBlocks } from "./column-blocks.ts";
import { canFuse, FusedStep } from "./fused-step.ts";
import type { NativeBackend } from "./kernel-set.ts";
import { LOSS_INFO } from "./losses.ts";
import { NativeKernels, nativeKernels } from "./native-kernels.ts";
import { Network } from "./network.ts";
import { Optimizer } from "./optimizers.ts";
import { rangeGradients } from "./parallel-step.ts";
import {
  ABS_SUM,
  BC1,
  BC2,
  CORRECT,
  COUNT,
  DONE,
  FAILED,
  GO,
  type HelperData,
  LOSS_OK,
  LOSS_SUM,
  LR,
  PART,
  SEQ,
  SQUARES,
  STOP,
  spinFor,
  TOTAL,
  UPDATE,
  UPDATED,
} from "./parallel-trainer.ts";
import { type WasmBackend, WasmKernels } from "./wasm-kernels.ts";

const d = workerData as HelperData;
/** The main thread's kernels over the same shared memory: the same native copy, or module. */
function sharedKernels(): WasmKernels | NonNullable<ReturnType<typeof nativeKernels>> {
  if (d.backend.startsWith("native-")) {
    const native = nativeKernels(d.backend as NativeBackend);
    if (!native || native.backend !== d.backend) throw new Error(`${d.backend} cannot run here`);
    return native.over({ memory: { buffer: d.memory as SharedArrayBuffer }, base: 0 });
  }
  return new WasmKernels(
    d.backend as WasmBackend,
    d.module as ConstructorParameters<typeof WasmKernels>[1],
    d.memory as ConstructorParameters<typeof WasmKernels>[2],
  );
}
const kernels = sharedKernels();
const net = new Network(d.spec, { kernelSet: kernels });
net.reserveHelper(d.capacity, d.slots, d.scratch);
const ctrl = new Int32Array(d.ctrl);
const results = new Float64Array(d.results);
const labels = new Int32Array(d.labels);
const info = LOSS_INFO[d.loss];
const optimizer = new Optimizer(d.optimizer);
/** The fused step's shared chunks (the main thread decides the same way: ParallelTrainer). */
const fused = canFuse(kernels, d.optimizer) ? new FusedStep(d.optimizer, true) : undefined;
/** Native kernels: forward and deltas in column blocks, claimed with the main thread. */
const counters = d.counters ? new Int32Array(d.counters) : null;
const blocks = counters && kernels instanceof NativeKernels ? new ColumnBlocks() : undefined;
const squares = d.squares ? new Float64Array(d.squares) : new Float64Array(1);
const P = net.parameterBlock;
const split = net.split;
const sums: BatchSums = { lossSum: 0, correct: 0, absSum: 0 };
const settings = {
  smoothing: d.smoothing,
  classWeights: d.classWeights ? Float64Array.from(d.classWeights) : null,
};
parentPort!.postMessage("ready");

/** Waits for ctrl[slot] to be `value`; false when told to stop instead. */
function waitFor(slot: number, value: number): boolean {
  spinFor(ctrl, slot, value);
  for (;;) {
    const v = Atomics.load(ctrl, slot);
    if (v === value) return true;
    if (Atomics.load(ctrl, STOP)) return false;
    Atomics.wait(ctrl, slot, v);
  }
}

/** Our share of the batch, rows [first, first + rows): forward, loss gradient and tally, deltas. */
function share(first: number, rows: number, total: number): void {
  if (info.needsLabels) net.labels.set(labels.subarray(0, rows), first);
  net.forward(rows, undefined, first);
  lossPart(net, info, first, rows, total, sums, settings);
  results[LOSS_SUM] = sums.lossSum;
  results[CORRECT] = sums.correct;
  results[ABS_SUM] = sums.absSum;
  net.backwardDeltas(first, rows, net.scratch);
}

/** Runs one part of a batch (`which`: 0 our rows, 1 our range's gradients, 2 its update); false if it threw. */
function run(which: number, rows: number, total: number): boolean {
  try {
    if (which === 0) share(total - rows, rows, total);
    else if (which === 1) results[SQUARES] = rangeGradients(net, kernels, total, split, P);
    else optimizer.stepRange(net, results[LR]!, split, P, results[BC1]!, results[BC2]!);
    return true;
  } catch {
    Atomics.store(ctrl, FAILED, 1);
    return false;
  }
}

/** Tells the main thread that the part behind `slot` of batch `seq` is done. */
function signal(slot: number, seq: number): void {
  Atomics.store(ctrl, slot, seq);
  Atomics.notify(ctrl, slot);
}

/** Waits for the main thread to have checked batch `seq`'s loss; false if it moved on or stops. */
function waitForLoss(seq: number): boolean {
  for (;;) {
    spinFor(ctrl, LOSS_OK, seq);
    const v = Atomics.load(ctrl, LOSS_OK);
    if (v === seq) return true;
    if (Atomics.load(ctrl, STOP) || Atomics.load(ctrl, SEQ) !== seq) return false;
    Atomics.wait(ctrl, LOSS_OK, v, 2);
  }
}

/**
 * One batch with the native kernels (ParallelTrainer.dynamicBatch): the forward pass's blocks,
 * then (once the main thread has taken the loss) the deltas' blocks, then the weight steps or our
 * range's gradients and update. A failure is flagged at PART, which the main thread waits for.
 */
function dynamicBatch(seq: number, total: number, b: ColumnBlocks, k: NativeKernels): void {
  const gen = seq & 0x7fff;
  let ok = false;
  try {
    // False when we came late (the main thread did the batch alone) or it stopped at the loss.
    ok =
      b.forward(net, k, total, counters!, gen) &&
      waitForLoss(seq) &&
      b.deltas(net, k, total, counters!, gen);
    if (ok && fused) {
      fused.settings(results[LR]!, results[BC1]!, results[BC2]!);
      fused.runShared(
        net,
        k,
        total,
        counters!,
        ColumnBlocks.stepSlot(net.layers.length),
        gen,
        squares,
      );
    }
  } catch {
    Atomics.store(ctrl, FAILED, 1);
    ok = false;
  }
  // Fused, the main thread waits for no signal; unfused, for our range's gradients at PART (it
  // waits for us every batch, so we are never late there).
  if (fused || Atomics.load(ctrl, STOP)) return;
  const done = ok && run(1, 0, total);
  if (!done) Atomics.store(ctrl, FAILED, 1);
  signal(PART, seq);
  if (!done || !waitFor(UPDATE, seq)) return;
  run(2, 0, total);
  signal(UPDATED, seq);
}

let seen = 0;
for (;;) {
  spinFor(ctrl, SEQ, seen + 1);
  Atomics.wait(ctrl, SEQ, seen);
  seen = Atomics.load(ctrl, SEQ);
  if (Atomics.load(ctrl, STOP)) break;
  const seq = seen;
  const rows = Atomics.load(ctrl, COUNT);
  const total = Atomics.load(ctrl, TOTAL);
  if (blocks) {
    dynamicBatch(seq, total, blocks, kernels as NativeKernels);
    continue;
  }
  const ok = run(0, rows, total);
  signal(DONE, seq);
  // After a failure the main thread throws and never asks for the update.
  if (!ok || !waitFor(GO, seq)) continue;
  run(1, rows, total);
  signal(PART, seq);
  if (!waitFor(UPDATE, seq)) continue;
  run(2, rows, total);
  signal(UPDATED, seq);
}
