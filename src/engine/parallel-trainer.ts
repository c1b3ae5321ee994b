/**
 * Two threads on one mini-batch, over ONE shared memory (a SharedArrayBuffer for the native
 * kernels, else a WebAssembly memory) holding the network's arena, which both threads address
 * from the same base with the same layout (Network.reserveHelper); the helper thread
 * (parallel-worker.ts) has only its own scratch block past the arena. The threads split outputs,
 * never a sum (parallel-step.ts), so the model is the one thread's bit for bit.
 *
 * With the native kernels (dynamicBatch), nothing is split in fixed halves: this thread gathers
 * the batch, both threads claim column blocks of each layer's forward pass from a shared counter
 * (column-blocks.ts), this thread activates the head and takes the loss, both claim the deltas'
 * blocks and then the fused step's chunks (or, unfused, take the parameter ranges below). A helper
 * that lost its core costs the batch at most the chunk it holds; and when the helper is slowed for
 * long (another process on the second core), batches run on this thread alone, whichever mode was
 * faster lately (thread-choice.ts). Every claim carries the batch's generation, so a helper that
 * comes back late takes nothing of the next batch.
 *
 * With WebAssembly, per batch: gather the helper's rows (the batch's second share, firstShare) → signal → gather
 * ours → forward, loss gradient and deltas of our rows, while the helper does its rows → each
 * thread signals that its deltas are written and waits for the other's → each computes the
 * weight gradients of its parameter range (Network.split) over all rows, and their squares →
 * wait → norm check and clip here → each thread runs the optimizer over its range; the wait for
 * the helper's range comes at the next read of the parameters (the next batch's forward pass,
 * or settle()), so it overlaps our gathers. Signals are Atomics on a small shared Int32Array; a
 * waiting thread spins briefly (the other's part is usually a few microseconds from done), then
 * blocks in Atomics.wait, so no event-loop turn sits in the step.
 *
 * The network moves onto the shared memory when training starts and back onto a private one
 * when it ends (close), so its arena may grow freely afterwards.
 */
import { Worker } from "node:worker_threads";
import type { EpochTally } from "./backprop-trainer.ts";
import { BackpropTrainer } from "./backprop-trainer.ts";
import { type BatchSums, batchLoss, firstShare, gatherBatch, lossPart } from "./batch-step.ts";
import { ColumnBlocks } from "./column-blocks.ts";
import type { Dataset } from "./dataset.ts";
import { TrainingDivergedError } from "./errors.ts";
import { canFuse, FusedStep } from "./fused-step.ts";
import type { KernelBackend } from "./kernel-set.ts";
import { LOSS_INFO, type LossInfo, type LossSettings, PLAIN_LOSS } from "./losses.ts";
import { NativeKernels } from "./native-kernels.ts";
import type { Network } from "./network.ts";
import type { Optimizer, ResolvedOptimizer } from "./optimizers.ts";
import { rangeGradients, type SharedKernels } from "./parallel-step.ts";
import type { LossName } from "./spec.ts";
import { ThreadChoice } from "./thread-choice.ts";
import { createKernels, sharedMemory, WasmKernels, wasmModule } from "./wasm-kernels.ts";

/** Slots of the control array (Int32). */
export const SEQ = 0;
export const COUNT = 1;
export const DONE = 2;
export const STOP = 3;
export const FAILED = 4;
/** The batch's rows (both shares): the helper's start at TOTAL − COUNT. */
export const TOTAL = 5;
/** Phases, each set to the batch's SEQ: our deltas written (GO), the helper's range's gradients
 * written (PART), go update (UPDATE), helper's range updated (UPDATED). close() sets GO and
 * UPDATE to -1. */
export const GO = 6;
export const PART = 7;
export const UPDATE = 8;
export const UPDATED = 9;
/** Native kernels (dynamicBatch): the batch's loss checked, the deltas may start. */
export const LOSS_OK = 11;
const CTRL_SLOTS = 16;
/** Slots of the results array (Float64): the helper's share of the batch tally, its range's
 * sum of squared gradients, and (from this thread) the update's learning rate and Adam's bias
 * corrections. */
export const LOSS_SUM = 0;
export const CORRECT = 1;
export const ABS_SUM = 2;
export const SQUARES = 3;
export const LR = 4;
export const BC1 = 5;
export const BC2 = 6;
const RESULT_SLOTS = 8;

/** How long a waiting thread spins before it blocks (ms). */
const SPIN_MS = 0.2;

/**
 * Spins up to SPIN_MS for ctrl[slot] to equal `value`, or for ctrl[STOP]. True when it did; false
 * when the caller should block (Atomics.wait) instead.
 */
export function spinFor(ctrl: Int32Array, slot: number, value: number): boolean {
  const until = performance.now() + SPIN_MS;
  do {
    for (let i = 0; i < 512; i++) {
      if (Atomics.load(ctrl, slot) === value || Atomics.load(ctrl, STOP) !== 0) return true;
    }
  } while (performance.now() < until);
  return false;
}

/** Ten-second waits for the helper's half of one batch before it counts as dead. */
const HELPER_SILENCE_WAITS = 30;
const PAGE = 65536;

/** What the helper thread gets (structured-cloned; memory, module and buffers are shared). */
export interface HelperData {
  /** The WebAssembly module (null for the native kernels, which the helper loads itself). */
  module: unknown;
  /** The shared WebAssembly.Memory, or the SharedArrayBuffer of the native kernels. */
  memory: unknown;
  backend: KernelBackend;
  spec: Network["spec"];
  /** The network's batch capacity and optimizer slots: its layout (Network.reserveHelper). */
  capacity: number;
  slots: number;
  /** Where the helper's scratch block starts (floats from the common base): past our arena. */
  scratch: number;
  loss: LossName;
  optimizer: ResolvedOptimizer;
  smoothing: number;
  classWeights: number[] | null;
  ctrl: SharedArrayBuffer;
  results: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  /** The column blocks' counters (native kernels: column-blocks.ts), else null. */
  counters: SharedArrayBuffer | null;
  /** The shared fused step's squares, a value a chunk (FusedStep.runShared), else null. */
  squares: SharedArrayBuffer | null;
}

export class ParallelTrainer {
  private readonly network: Network;
  private readonly data: Dataset;
  private readonly optimizer: Optimizer;
  private readonly kernels: SharedKernels;
  private readonly worker: Worker;
  private readonly single: BackpropTrainer;
  private readonly loss: LossInfo;
  private readonly clipNorm: number;
  private readonly settings: LossSettings;
  /** Our share's sums, reused across batches. */
  private readonly sums: BatchSums = { lossSum: 0, correct: 0, absSum: 0 };
  private readonly ctrl: Int32Array;
  private readonly results: Float64Array;
  private readonly labels: Int32Array;
  private seq = 0;
  /** The batch whose update the helper may still be running on its range (0: none). */
  private pending = 0;
  /** The fused step, its chunks shared with the helper (native kernels, Adam, no clipNorm). */
  private readonly fused: FusedStep | undefined;
  /** Native kernels: forward and deltas in column blocks both threads claim (dynamicBatch). */
  private readonly blocks: ColumnBlocks | undefined;
  private readonly counters: Int32Array;
  private readonly squares: Float64Array;
  /** Native kernels: whether a batch runs on both threads or on this one (thread-choice.ts). */
  private readonly choice = new ThreadChoice();

  private constructor(
    network: Network,
    data: Dataset,
    loss: LossName,
    optimizer: Optimizer,
    settings: LossSettings,
    parts: {
      kernels: SharedKernels;
      worker: Worker;
      ctrl: Int32Array;
      results: Float64Array;
      labels: Int32Array;
      counters: Int32Array | null;
      squares: Float64Array;
    },
  ) {
    this.network = network;
    this.data = data;
    this.optimizer = optimizer;
    this.kernels = parts.kernels;
    this.worker = parts.worker;
    this.ctrl = parts.ctrl;
    this.results = parts.results;
    this.labels = parts.labels;
    this.settings = settings;
    this.single = new BackpropTrainer(network, data, loss, optimizer, settings);
    this.loss = LOSS_INFO[loss];
    this.clipNorm = optimizer.config.clipNorm ?? 0;
    this.fused = canFuse(parts.kernels, optimizer.config)
      ? new FusedStep(optimizer.config, true)
      : undefined;
    this.counters = parts.counters ?? new Int32Array(0);
    this.squares = parts.squares;
    this.blocks = parts.counters ? new ColumnBlocks() : undefined;
  }

  /**
   * Starts the helper thread for `network` (already reserved for the batch size and optimizer),
   * or returns undefined when two threads cannot run here: JavaScript kernels, no
   * shared-memory binary, or a helper that failed to start. Training then runs on one thread.
   */
  static async start(
    network: Network,
    data: Dataset,
    loss: LossName,
    optimizer: Optimizer,
    settings: LossSettings = PLAIN_LOSS,
  ): Promise<ParallelTrainer | undefined> {
    const backend = network.kernels.backend;
    if (backend === "js") return undefined;
    // Our arena (and its padding), then the helper's scratch block.
    const origin = Math.ceil((network.memory.length + 16) / 16) * 16;
    const floats = origin + network.scratchSize + 64;
    let kernels: SharedKernels;
    let mod: unknown = null;
    let memory: unknown;
    if (network.kernels instanceof NativeKernels) {
      // The native kernels address a plain SharedArrayBuffer from byte 0.
      const buffer = new SharedArrayBuffer(floats * 4);
      kernels = network.kernels.over({ memory: { buffer }, base: 0 });
      memory = buffer;
    } else {
      const wasm = backend === "relaxed" || backend === "simd" ? wasmModule(backend, true) : null;
      if (!wasm || !(backend === "relaxed" || backend === "simd")) return undefined;
      const base = new WasmKernels(backend, wasm, sharedMemory(1)).base;
      const pages = Math.ceil((base + floats * 4) / PAGE);
      const shared = sharedMemory(pages);
      kernels = new WasmKernels(backend, wasm, shared);
      mod = wasm;
      memory = shared;
    }
    network.useKernels(kernels);
    const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SLOTS * 4));
    const results = new Float64Array(new SharedArrayBuffer(RESULT_SLOTS * 8));
    const labels = new Int32Array(new SharedArrayBuffer(Math.max(network.capacity, 1) * 4));
    const counters =
      kernels instanceof NativeKernels
        ? new Int32Array(
            new SharedArrayBuffer(ColumnBlocks.counterSlots(network.layers.length) * 4),
          )
        : null;
    const squares = new Float64Array(
      new SharedArrayBuffer(counters ? FusedStep.maxChunks(network) * 8 : 8),
    );
    const helperData: HelperData = {
      module: mod,
      memory,
      backend,
      spec: network.spec,
      capacity: network.capacity,
      slots: network.slots,
      scratch: origin,
      loss,
      optimizer: optimizer.config,
      smoothing: settings.smoothing,
      classWeights: settings.classWeights ? Array.from(settings.classWeights) : null,
      ctrl: ctrl.buffer as SharedArrayBuffer,
      results: results.buffer as SharedArrayBuffer,
      labels: labels.buffer as SharedArrayBuffer,
      counters: counters ? (counters.buffer as SharedArrayBuffer) : null,
      squares: counters ? (squares.buffer as SharedArrayBuffer) : null,
    };
    const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
    const worker = new Worker(new URL(`./parallel-worker${ext}`, import.meta.url), {
      workerData: helperData,
    });
    try {
      await new Promise((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
        worker.once("exit", (code) => reject(new Error(`helper thread exited (${code})`)));
      });
    } catch {
      // The helper could not start: train on one thread, as without shared-memory binaries.
      await worker.terminate();
      network.useKernels(createKernels(backend));
      return undefined;
    }
    worker.removeAllListeners();
    worker.on("error", () => {}); // reported through the FAILED slot
    return new ParallelTrainer(network, data, loss, optimizer, settings, {
      kernels,
      worker,
      ctrl,
      results,
      labels,
      counters,
      squares,
    });
  }

  /** Same contract as BackpropTrainer.trainBatch, and the same bits. */
  trainBatch(
    order: Int32Array,
    start: number,
    count: number,
    lr: number,
    tally: EpochTally,
    epoch: number,
    batch: number,
  ): number {
    const own = firstShare(count);
    const theirs = count - own;
    if (theirs === 0) {
      this.settle();
      return this.single.trainBatch(order, start, count, lr, tally, epoch, batch);
    }
    if (this.blocks) {
      const alone = this.choice.alone();
      const t0 = performance.now();
      if (alone) this.settle();
      const loss = alone
        ? this.single.trainBatch(order, start, count, lr, tally, epoch, batch)
        : this.dynamicBatch(order, start, count, lr, tally, epoch, batch);
      this.choice.record(performance.now() - t0, count);
      return loss;
    }
    const net = this.network;
    const loss = this.loss;
    const data = this.data;
    const c = this.ctrl;
    const m = net.memory;

    // The helper's rows first, so it starts while we gather ours (its labels go through the
    // shared array: each thread's are its own).
    const K = net.inputs;
    const N = net.outputs;
    const at = [net.input + own * K, net.targets + own * N] as const;
    gatherBatch(
      m,
      at[0],
      at[1],
      this.labels,
      data,
      loss.needsLabels,
      order,
      start + own,
      theirs,
      K,
      N,
      net.kernels,
    );
    Atomics.store(c, COUNT, theirs);
    Atomics.store(c, TOTAL, count);
    Atomics.store(c, SEQ, ++this.seq);
    Atomics.notify(c, SEQ);
    const seq = this.seq;

    gatherBatch(
      m,
      net.input,
      net.targets,
      net.labels,
      data,
      loss.needsLabels,
      order,
      start,
      own,
      K,
      N,
      net.kernels,
    );
    // The previous batch's update must be whole before the forward pass reads the parameters.
    this.settle();
    net.forward(own);
    const ours = lossPart(net, loss, 0, own, count, this.sums, this.settings);
    net.backwardDeltas(0, own, net.scratch);
    // The helper may start its range's gradients as soon as it is done (WebAssembly has no fused
    // step: that is dynamicBatch's, with the native kernels).
    Atomics.store(c, GO, seq);
    Atomics.notify(c, GO);
    this.awaitHelper(DONE, seq);
    const r = this.results;
    const lossSum = ours.lossSum + r[LOSS_SUM]!;
    if (!Number.isFinite(lossSum)) throw new TrainingDivergedError(epoch, batch, "the loss");
    tally.lossSum += lossSum;
    tally.correct += ours.correct + r[CORRECT]!;
    tally.absSum += ours.absSum + r[ABS_SUM]!;
    this.rangeSteps(count, lr, seq, batch, epoch);
    return lossSum / count;
  }

  /**
   * trainBatch with the native kernels: this thread gathers the whole batch, then both threads
   * claim column blocks of the forward pass (column-blocks.ts); this thread activates the head and
   * takes the loss and tally in forwardAndLoss's two parts, checks it and lets the helper on;
   * both claim the deltas' blocks, then the weight steps' chunks (fused) or take their parameter
   * ranges (unfused: gradients and update as trainBatch's). No part waits for the helper but the
   * end, where its squares are read.
   */
  private dynamicBatch(
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
    const c = this.ctrl;
    const m = net.memory;
    const k = this.kernels as NativeKernels;
    const blocks = this.blocks!;
    gatherBatch(
      m,
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
      k,
    );
    // The helper reads the parameters from its first chunk on: the last update must be whole.
    this.settle();
    const seq = ++this.seq;
    const gen = seq & 0x7fff;
    ColumnBlocks.open(this.counters, gen);
    Atomics.store(c, TOTAL, count);
    Atomics.store(c, SEQ, seq);
    Atomics.notify(c, SEQ);
    blocks.forward(net, k, count, this.counters, gen);
    const h = net.head;
    k.activateInto(m, net.logits, h.output, count, h.units, h.act, h.alpha);
    const sums = batchLoss(net, loss, count, this.sums, this.settings);
    if (!Number.isFinite(sums.lossSum)) throw new TrainingDivergedError(epoch, batch, "the loss");
    tally.lossSum += sums.lossSum;
    tally.correct += sums.correct;
    tally.absSum += sums.absSum;
    const fused = this.fused;
    if (fused) this.fusedSettings(fused, lr);
    Atomics.store(c, LOSS_OK, seq);
    Atomics.notify(c, LOSS_OK);
    blocks.deltas(net, k, count, this.counters, gen);
    if (fused) {
      // Every chunk's squares, summed in chunk order once all are applied: no wait for the helper
      // beyond a chunk it holds, so a helper that lost the core costs no more than that.
      const slot = ColumnBlocks.stepSlot(net.layers.length);
      const squares = fused.runShared(net, k, count, this.counters, slot, gen, this.squares)!;
      if (!Number.isFinite(Math.sqrt(squares))) {
        throw new TrainingDivergedError(epoch, batch, "the gradient");
      }
    } else this.rangeSteps(count, lr, seq, batch, epoch);
    return sums.lossSum / count;
  }

  /**
   * Unfused (no fused step for the optimizer, or clipNorm): our range's gradients, the helper's
   * squares, the norm's check and clip, then each thread's range updated; the helper finishes its
   * range while we return (settle).
   */
  private rangeSteps(count: number, lr: number, seq: number, batch: number, epoch: number): void {
    // Our range's gradients over all rows; the helper does the rest (parallel-step.ts).
    const net = this.network;
    const m = net.memory;
    const c = this.ctrl;
    const r = this.results;
    let squares = rangeGradients(net, this.kernels, count, 0, net.split);
    this.awaitHelper(PART, seq);
    squares += r[SQUARES]!;
    // The global gradient norm doubles as the divergence check on the gradients (clipAndStep).
    const P = net.parameterBlock;
    const norm = Math.sqrt(squares);
    if (!Number.isFinite(norm)) throw new TrainingDivergedError(epoch, batch, "the gradient");
    if (this.clipNorm > 0 && norm > this.clipNorm) {
      this.kernels.scaleInPlace(m, P, P, this.clipNorm / (norm + 1e-6));
    }
    const o = this.optimizer;
    o.advance();
    r[LR] = lr;
    r[BC1] = o.correction1;
    r[BC2] = o.correction2;
    Atomics.store(c, UPDATE, seq);
    Atomics.notify(c, UPDATE);
    o.stepRange(net, lr, 0, net.split, o.correction1, o.correction2);
    // The helper finishes its range while we return and gather the next batch (settle).
    this.pending = seq;
  }

  /** Advances the optimizer and gives the helper the step's settings. */
  private fusedSettings(fused: FusedStep, lr: number): void {
    const r = this.results;
    const o = this.optimizer;
    o.advance();
    fused.settings(lr, o.correction1, o.correction2);
    r[LR] = lr;
    r[BC1] = o.correction1;
    r[BC2] = o.correction2;
  }

  /**
   * Waits until the last batch's update is whole (the helper's range done). Whoever reads the
   * parameters between batches calls it first: the next batch does, fit does before its
   * callbacks, event-loop turns and the epoch's end, and close does.
   */
  settle(): void {
    if (this.pending === 0) return;
    const seq = this.pending;
    this.pending = 0;
    this.awaitHelper(UPDATED, seq);
  }

  /**
   * Waits for the helper to set `slot` to this batch's `seq`. The helper's exit cannot be heard
   * here (this loop holds the event loop), so a helper that died outside its own error handling
   * (out of memory, terminated) is noticed by its silence.
   */
  private awaitHelper(slot: number, seq: number): void {
    const c = this.ctrl;
    if (!spinFor(c, slot, seq)) {
      for (let waits = 0; ; waits++) {
        const v = Atomics.load(c, slot);
        if (v === seq) break;
        if (waits === HELPER_SILENCE_WAITS) {
          throw new Error("the helper training thread stopped answering");
        }
        Atomics.wait(c, slot, v, 10_000);
      }
    }
    if (Atomics.load(c, FAILED)) throw new Error("the helper training thread failed");
  }

  /** Stops the helper and moves the network back onto a private memory. */
  async close(): Promise<void> {
    const c = this.ctrl;
    try {
      this.settle();
    } catch {
      // A helper that failed or stopped answering: stopped below all the same.
    }
    Atomics.store(c, STOP, 1);
    Atomics.store(c, SEQ, ++this.seq);
    Atomics.notify(c, SEQ);
    // A helper left waiting for an update phase (this thread threw mid-batch) sees a value
    // that is no batch's.
    for (const slot of [GO, UPDATE, LOSS_OK]) {
      Atomics.store(c, slot, -1);
      Atomics.notify(c, slot);
    }
    await this.worker.terminate();
    this.network.useKernels(createKernels(this.kernels.backend));
  }
}
