/**
 * The fused step (native kernels, Adam or AdamW, no clipNorm): each layer's weight gradient goes
 * into Adam straight from the product's registers (the addon's weightSteps), instead of being
 * stored, summed for the norm and read again by an update pass over every parameter. The
 * operations on each value are the unfused ones (backward, then Optimizer.step), so the
 * parameters and moments come out bit for bit the same (test/engine/fused-step.test.ts).
 *
 * What changes: the gradients are not stored (the gradient block keeps stale values), and the
 * divergence check on them ("the gradient") is made on their sum of squares taken as the tiles
 * pass, in no fixed order, after the update: a step whose gradient is not finite has already
 * written its parameters when fit throws (the job fails either way). With clipNorm the norm must
 * be known before any update, so that path stays unfused (BackpropTrainer).
 *
 * The work is a list of chunks, rows of one layer's dW each, claimed from a counter: one thread
 * runs the whole list in one call; two threads share a counter and whoever is free takes the next
 * chunk (ParallelTrainer), which changes no bit (every value of dW is summed over all of the
 * batch's rows in order, whoever computes it).
 */
import type { KernelSet } from "./kernel-set.ts";
import type { NativeKernels } from "./native-kernels.ts";
import type { Network } from "./network.ts";
import type { ResolvedOptimizer } from "./optimizers.ts";

/** Ints per chunk in the list (native/src/addon.cc): x, dz, w, b, K, N, k0, k1, bias. */
const CHUNK = 9;
/** Outputs of dW per chunk when two threads share the list (~0.8 MFLOP at batch 64). */
const SHARED_CHUNK_OUTPUTS = 12_288;
/** Rows of a chunk are a multiple of this (the AVX-512 copy's register tile height). */
const TILE_ROWS = 12;

/** Adam's settings for one step, as the addon takes them. */
interface StepSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Adam's L2 weight decay (0 for AdamW, whose decay is `decay`). */
  wd: number;
  decoupled: boolean;
  /** AdamW's factor 1 − lr·wd, applied to the weights before the step. */
  decay: number;
  bc1: number;
  bc2: number;
}

/** Whether `kernels` can run `config`'s updates fused. */
export function canFuse(kernels: KernelSet, config: ResolvedOptimizer): boolean {
  return (
    kernels.weightSteps !== undefined &&
    (config.name === "adam" || config.name === "adamw") &&
    !((config.clipNorm ?? 0) > 0)
  );
}

export class FusedStep {
  private list = new Int32Array(0);
  private chunks = 0;
  private readonly own = new Int32Array(1);
  private readonly s: StepSettings;
  private readonly config: ResolvedOptimizer;
  /** Shared: chunks sized for two threads to balance; else one chunk a layer. */
  private readonly shared: boolean;

  constructor(config: ResolvedOptimizer, shared = false) {
    this.config = config;
    this.shared = shared;
    this.s = {
      lr: 0,
      beta1: 0,
      beta2: 0,
      eps: 0,
      wd: 0,
      decoupled: false,
      decay: 1,
      bc1: 1,
      bc2: 1,
    };
  }

  /** Sets this step's learning rate and Adam's bias corrections (after Optimizer.advance). */
  settings(lr: number, bc1: number, bc2: number): void {
    const c = this.config;
    const s = this.s;
    const adamw = c.name === "adamw";
    s.lr = lr;
    s.beta1 = c.beta1;
    s.beta2 = c.beta2;
    s.eps = c.epsilon;
    // As Optimizer.update: AdamW scales the weights by 1 − lr·wd (when wd > 0), then runs Adam
    // without decay; Adam adds wd·p to the gradient. Biases never decay (the addon's rule).
    s.wd = adamw ? 0 : c.weightDecay;
    s.decoupled = adamw && c.weightDecay > 0;
    s.decay = 1 - lr * c.weightDecay;
    s.bc1 = bc1;
    s.bc2 = bc2;
  }

  /**
   * Runs the chunks of `net`'s weight steps over `rows` rows (every layer's delta already
   * written), claiming them from counter[slot] (this step's own counter by default, reset here;
   * a shared one is reset by its owner before either thread starts). Returns the sum of squares
   * of the gradients applied by this call.
   */
  run(net: Network, rows: number, counter?: Int32Array, slot = 0): number {
    this.plan(net);
    const s = this.s;
    const c = counter ?? this.own;
    if (!counter) c[0] = 0;
    return net.kernels.weightSteps!(
      net.memory,
      this.list,
      this.chunks,
      c,
      slot,
      rows,
      net.parameterBlock,
      s.lr,
      s.beta1,
      s.beta2,
      s.eps,
      s.wd,
      s.decoupled,
      s.decay,
      s.bc1,
      s.bc2,
    );
  }

  /**
   * run on both threads with the native kernels (ParallelTrainer.dynamicBatch): the claims at
   * counters[slot] tagged with the batch's `gen`, each chunk's squares in `squares` (shared).
   * Returns the sum of every chunk's squares once all are done, or undefined when this thread
   * came after the batch was over.
   */
  runShared(
    net: Network,
    k: NativeKernels,
    rows: number,
    counters: Int32Array,
    slot: number,
    gen: number,
    squares: Float64Array,
  ): number | undefined {
    this.plan(net);
    const s = this.s;
    const args = [
      net.memory,
      this.list,
      this.chunks,
      counters,
      slot,
      rows,
      net.parameterBlock,
      s.lr,
      s.beta1,
      s.beta2,
      s.eps,
      s.wd,
      s.decoupled,
      s.decay,
      s.bc1,
      s.bc2,
    ] as const;
    return k.sharedWeightSteps([...args], gen, squares);
  }

  /** The most chunks a shared plan of `net` can have (the size of runShared's squares). */
  static maxChunks(net: Network): number {
    return net.layers.reduce((n, l) => n + Math.ceil(l.inputs / TILE_ROWS), 0);
  }

  /** The chunk list of `net`'s layers as they lie now (inputs move with dropout and reserve). */
  private plan(net: Network): void {
    let n = 0;
    for (const l of net.layers) n += Math.ceil(l.inputs / this.rowsPerChunk(l.inputs, l.units));
    if (this.list.length < n * CHUNK) this.list = new Int32Array(n * CHUNK);
    const list = this.list;
    let at = 0;
    net.layers.forEach((l, i) => {
      const K = l.inputs;
      const step = this.rowsPerChunk(K, l.units);
      const x = net.layerInput(i);
      for (let k0 = 0; k0 < K; k0 += step) {
        const k1 = Math.min(K, k0 + step);
        list[at] = x;
        list[at + 1] = l.delta;
        list[at + 2] = l.weights;
        list[at + 3] = l.bias;
        list[at + 4] = K;
        list[at + 5] = l.units;
        list[at + 6] = k0;
        list[at + 7] = k1;
        list[at + 8] = k1 === K ? 1 : 0;
        at += CHUNK;
      }
    });
    this.chunks = n;
  }

  private rowsPerChunk(K: number, N: number): number {
    if (!this.shared) return K;
    const rows = Math.ceil(SHARED_CHUNK_OUTPUTS / N / TILE_ROWS) * TILE_ROWS;
    return Math.max(TILE_ROWS, Math.min(K, rows));
  }
}
