/**
 * A feedforward network: input → dense layers → output, with its arena.
 *
 * Arena layout (offsets in floats, P = size of the parameter block):
 *
 *   [0, P)            parameters: W0 b0 W1 b1 …
 *   [P, 2P)           gradients, same layout (gradient of x lives at x + P)
 *   [2P, (2+s)P)      s optimizer state slots, same layout (slot k of x at x + (2+k)P)
 *   then per batch    X [cap × inputs], per layer A and dZ [cap × units],
 *                     logits Z and targets T [cap × outputs]
 *   with gradients    a scratch block of max(inputs × units) over the hidden→next layers
 *                     (the WebAssembly kernels pack Wᵀ there for the input gradient)
 *
 * The arena's memory belongs to the network's kernel set (kernel-set.ts): a plain Float32Array
 * for the JavaScript kernels, a view of the WebAssembly memory for the SIMD ones.
 *
 * Growing the batch capacity or the optimizer slots re-plans the arena and keeps the front.
 */
import { ALIGN, ArenaPlanner } from "./arena.ts";
import { requireOneOf } from "./checks.ts";
import { checkDataset, type Dataset } from "./dataset.ts";
import { DenseLayer } from "./dense-layer.ts";
import { EngineError } from "./errors.ts";
import { fillBias, INITIALIZER_FILLS } from "./initializers.ts";
import type { KernelRequest, KernelSet } from "./kernel-set.ts";
import { LOSS_INFO, type LossBuffers, lossAndGradient, lossOutputProblem } from "./losses.ts";
import { absoluteErrorSum, countCorrect, judgedPerRow } from "./metrics.ts";
import { normalizeNetworkSpec } from "./network-spec.ts";
import { Random } from "./random.ts";
import { LOSSES, type LossName, type NetworkSpec } from "./spec.ts";
import { createKernels } from "./wasm-kernels.ts";

/** Rows per forward pass when predicting or evaluating outside training. */
const DEFAULT_CHUNK = 256;
/** Inputs from which predict checks them as it copies them (native kernels). */
const COPY_CHECKED = 16_384;

export interface EvaluateResult {
  loss: number;
  accuracy?: number;
  mae?: number;
}

export interface CreateNetworkOptions {
  /** Seed of the initial weights (default 0): the same seed gives bit-identical weights. */
  seed?: number;
  /**
   * Kernel backend ("relaxed", "simd" or "js"); default NNSERVE_KERNELS, else the fastest this
   * runtime has. One that cannot run here falls back to the next (see kernel-set.ts).
   */
  kernels?: KernelRequest;
}

/** Validates `spec` and builds a network with freshly initialised weights. */
export function createNetwork(spec: NetworkSpec, options: CreateNetworkOptions = {}): Network {
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) {
    throw new EngineError("seed", `must be an integer, got ${String(seed)}`);
  }
  const network = new Network(normalizeNetworkSpec(spec), { kernels: options.kernels });
  network.initialize(new Random(seed));
  return network;
}

export class Network {
  readonly spec: NetworkSpec;
  readonly inputs: number;
  readonly outputs: number;
  readonly parameterCount: number;
  readonly layers: readonly DenseLayer[];
  /** The hot loops this network runs, and the owner of its arena memory (see useKernels). */
  kernels: KernelSet;
  /*
   * The fields below are the engine's internals (arena and batch offsets), public only so the
   * trainers, losses and kernels can reach them; code outside src/engine should not touch them.
   */
  /** Floats in the parameter block (parameters plus alignment padding). */
  readonly parameterBlock: number;
  /**
   * Where two threads split the parameter block's gradients and update (threadSplit): one
   * thread takes [0, split), the other [split, P). The norm's sum of squares is always summed
   * as these two parts (gradientSquares), so one thread and two give the same bits.
   */
  readonly split: number;
  /** The arena. Replaced when it grows: read it again after reserve(). */
  memory: Float32Array;
  capacity = 0;
  /** Optimizer state blocks; -1 while there is no gradient block either. */
  slots = -1;
  /** Offsets of the batch input X, output logits Z and targets T. */
  input = 0;
  /** Offset of the kernels' scratch block (present once there are gradients). */
  scratch = 0;
  /** Distance from a parameter to its gradient: P, except in a two-thread helper's view. */
  gradients = 0;
  logits = 0;
  targets = 0;
  /** Class labels of the current batch (integers, so kept beside the arena). */
  labels = new Int32Array(0);
  /** Per-row class weights of the current batch (kept beside the arena, as the labels). */
  rowWeights = new Float32Array(0);
  private buffers: LossBuffers = {
    z: 0,
    a: 0,
    t: 0,
    labels: this.labels,
    d: 0,
    weights: this.rowWeights,
  };
  /**
   * Training-time dropout (set by fit through setDropout): rates of the inputs and of each
   * layer's outputs, and where each one's mask (0 or 1/(1 − rate)) and dropped copy live.
   * A layer with dropout feeds its dropped copy to the next layer during training only.
   */
  private dropout: Dropout | null = null;
  /** lossBuffersFrom's last answer, and the buffers it shifted. */
  private shifted: { first: number; from: LossBuffers; buffers: LossBuffers } | null = null;

  /** Use createNetwork or loadNetwork; `spec` must already be normalised. */
  constructor(
    spec: NetworkSpec,
    options: { kernels?: KernelRequest | undefined; kernelSet?: KernelSet } = {},
  ) {
    this.kernels = options.kernelSet ?? createKernels(options.kernels);
    this.spec = deepFreeze(spec);
    this.inputs = spec.inputs;
    this.outputs = spec.layers[spec.layers.length - 1]!.units;
    const planner = new ArenaPlanner();
    let fanIn = spec.inputs;
    this.layers = spec.layers.map((l) => {
      const layer = new DenseLayer(
        {
          inputs: fanIn,
          units: l.units,
          activation: l.activation,
          alpha: l.alpha,
          initializer: l.initializer!,
        },
        planner,
      );
      fanIn = l.units;
      return layer;
    });
    this.parameterBlock = planner.size;
    this.parameterCount = this.layers.reduce((n, l) => n + l.parameterCount, 0);
    this.split = threadSplit(this.layers, this.parameterBlock);
    this.memory = this.kernels.arena(undefined, this.parameterBlock, 0);
  }

  /** Fills weights and biases from each layer's initializer (biases are zero but for torchLinear). */
  initialize(random: Random): void {
    const m = this.memory;
    for (const l of this.layers) {
      INITIALIZER_FILLS[l.initializer](m, l.weights, l.inputs, l.units, random);
      fillBias(l.initializer, m, l.bias, l.inputs, l.units, random);
    }
  }

  /** The output layer. */
  get head(): DenseLayer {
    return this.layers[this.layers.length - 1]!;
  }

  /**
   * Makes room for batches of `capacity` rows and, when `slots` >= 0, for gradients and that
   * many optimizer state blocks. Never shrinks; keeps parameters, gradients and state.
   */
  reserve(capacity: number, slots = -1): void {
    const wantSlots = Math.max(slots, this.slots);
    const cap = Math.max(capacity, this.capacity);
    if (cap === this.capacity && wantSlots === this.slots) return;
    const P = this.parameterBlock;
    const planner = new ArenaPlanner();
    planner.take(P * (wantSlots >= 0 ? 2 + wantSlots : 1));
    this.gradients = P;
    this.planBatch(planner, cap, wantSlots >= 0);
    const keep = P * (this.slots >= 0 ? 2 + this.slots : 1);
    this.memory = this.kernels.arena(this.memory, planner.size, keep);
    this.slots = wantSlots;
  }

  /**
   * For the helper thread of two-thread training (parallel-worker.ts), on the same shared memory
   * and base as the main network: the main network's layout exactly (the same `capacity` and
   * `slots`, so every offset agrees), without touching the memory, but for the scratch block,
   * which is the helper's own at `scratch` (past the main network's arena).
   */
  reserveHelper(capacity: number, slots: number, scratch: number): void {
    const planner = new ArenaPlanner();
    planner.take(this.parameterBlock * (2 + slots));
    this.gradients = this.parameterBlock;
    this.planBatch(planner, capacity, true);
    this.scratch = scratch;
    this.memory = this.kernels.arena(undefined, scratch + this.scratchSize, 0);
    this.slots = slots;
  }

  /** Floats of the scratch block (the largest W of a layer past the first). */
  get scratchSize(): number {
    let most = 0;
    for (const l of this.layers.slice(1)) most = Math.max(most, l.inputs * l.units);
    return most;
  }

  /** Lays out the batch buffers (and the scratch block when there are gradients). */
  private planBatch(planner: ArenaPlanner, cap: number, scratch: boolean): void {
    this.input = planner.take(cap * this.inputs);
    for (const l of this.layers) {
      l.output = planner.take(cap * l.units);
      l.delta = planner.take(cap * l.units);
    }
    this.logits = planner.take(cap * this.outputs);
    this.targets = planner.take(cap * this.outputs);
    const drop = this.dropout;
    if (drop) {
      const widths = [this.inputs, ...this.layers.map((l) => l.units)];
      const rates = [drop.inputs, ...drop.layers];
      drop.masks = rates.map((rate, i) => (rate > 0 ? planner.take(cap * widths[i]!) : -1));
      drop.dropped = rates.map((rate, i) => (rate > 0 ? planner.take(cap * widths[i]!) : -1));
    }
    if (scratch) this.scratch = planner.take(this.scratchSize);
    this.capacity = cap;
    if (this.labels.length < cap) this.labels = new Int32Array(cap);
    if (this.rowWeights.length < cap) this.rowWeights = new Float32Array(cap);
    const h = this.head;
    this.buffers = {
      z: this.logits,
      a: h.output,
      t: this.targets,
      labels: this.labels,
      d: h.delta,
      weights: this.rowWeights,
    };
  }

  /**
   * Dropout for the next training passes: `inputs` on the input features, `layers[i]` on the
   * outputs of hidden layer i (the output layer never drops). Rates in [0, 1); all 0 or null
   * turns it off. Re-plans the arena's batch buffers (parameters and state are kept).
   */
  setDropout(rates: DropoutRates | null): void {
    const on = rates !== null && (rates.inputs > 0 || rates.layers.some((r) => r > 0));
    if (!on && this.dropout === null) return;
    this.dropout = on
      ? {
          inputs: rates!.inputs,
          layers: this.layers.map((_, i) => rates!.layers[i] ?? 0),
          masks: [],
          dropped: [],
        }
      : null;
    const cap = this.capacity;
    // Forces the re-plan: the buffers after the optimizer state move.
    this.capacity = 0;
    if (cap > 0 || this.slots >= 0) this.reserve(Math.max(cap, 1), this.slots);
  }

  /** Whether training passes drop units (setDropout). */
  get hasDropout(): boolean {
    return this.dropout !== null;
  }

  /**
   * Draws a fresh mask for `rows` rows of the values at `from` (width `n`) from `random`
   * (uniform < rate: dropped) and writes the dropped copy; returns the copy's offset.
   */
  private drop(k: number, from: number, rows: number, n: number, random: Random): number {
    const d = this.dropout!;
    const rate = k === 0 ? d.inputs : d.layers[k - 1]!;
    if (rate === 0) return from;
    const m = this.memory;
    const mask = d.masks[k]!;
    const out = d.dropped[k]!;
    const keep = 1 / (1 - rate);
    for (let i = 0; i < rows * n; i++) {
      const s = random.uniform() < rate ? 0 : keep;
      m[mask + i] = s;
      m[out + i] = m[from + i] * s;
    }
    return out;
  }

  /** What layer i read in the last training pass: the dropped copy of its input, if any. */
  layerInput(i: number): number {
    const x = i === 0 ? this.input : this.layers[i - 1]!.output;
    const d = this.dropout;
    return d && d.dropped[i]! >= 0 ? d.dropped[i]! : x;
  }

  /**
   * Moves the arena into `kernels`' memory (one copy) and runs on them from now on: how a network
   * goes onto a shared memory for two-thread training and back.
   */
  useKernels(kernels: KernelSet): void {
    const memory = kernels.arena(undefined, this.memory.length, 0);
    memory.set(this.memory);
    this.kernels = kernels;
    this.memory = memory;
  }

  /**
   * Forward pass over the `rows` rows already in the input buffer from row `first` on (a
   * thread's share of a batch; 0 otherwise); returns A's offset (of row 0). With `dropout`
   * (training, after setDropout; one thread, so `first` 0) the masks are drawn from it, in the
   * order inputs, then each hidden layer, row-major.
   */
  forward(rows: number, dropout?: Random, first = 0): number {
    const m = this.memory;
    const k = this.kernels;
    const dropping = dropout !== undefined && this.dropout !== null;
    let x = dropping ? this.drop(0, this.input, rows, this.inputs, dropout) : this.input;
    x += first * this.inputs;
    const last = this.layers.length - 1;
    for (let i = 0; i < last; i++) {
      const l = this.layers[i]!;
      const y = l.output + first * l.units;
      k.denseForward(m, x, l.weights, l.bias, y, rows, l.inputs, l.units, l.act, l.alpha);
      x = dropping ? this.drop(i + 1, l.output, rows, l.units, dropout) : y;
    }
    // The output layer keeps its logits Z: the losses work from them for stability.
    const h = this.head;
    const z = this.logits + first * h.units;
    k.denseForward(m, x, h.weights, h.bias, z, rows, h.inputs, h.units, 0, 0);
    k.activateInto(m, z, h.output + first * h.units, rows, h.units, h.act, h.alpha);
    return h.output;
  }

  /** Backpropagates the head's delta (dL/dZ) of `rows` rows into every layer's gradients. */
  backward(rows: number): void {
    const m = this.memory;
    const k = this.kernels;
    const G = this.gradients;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i]!;
      k.backwardWeights(
        m,
        this.layerInput(i),
        l.delta,
        l.weights + G,
        l.bias + G,
        rows,
        l.inputs,
        l.units,
      );
      if (i > 0) this.backwardDelta(i, 0, rows, this.scratch);
    }
  }

  /**
   * The deltas of every layer below the head for rows [first, first + rows): a thread's share
   * of backward when two threads split a batch (the weight gradients follow over all rows,
   * split by outputs: parallel-step.ts). `scratch` is the calling thread's own scratch block.
   */
  backwardDeltas(first: number, rows: number, scratch: number): void {
    for (let i = this.layers.length - 1; i > 0; i--) this.backwardDelta(i, first, rows, scratch);
  }

  /** Layer i−1's delta from layer i's, for rows [first, first + rows). */
  private backwardDelta(i: number, first: number, rows: number, scratch: number): void {
    const m = this.memory;
    const l = this.layers[i]!;
    const p = this.layers[i - 1]!;
    const at = first * p.units;
    this.kernels.backwardInput(
      m,
      l.delta + first * l.units,
      l.weights,
      p.delta + at,
      p.output + at,
      rows,
      l.units,
      l.inputs,
      p.act,
      p.alpha,
      scratch,
    );
    // Through the mask: the dropped units had no effect downstream.
    const d = this.dropout;
    const mask = d ? d.masks[i]! : -1;
    if (mask >= 0) {
      for (let j = at; j < at + rows * p.units; j++) m[p.delta + j] *= m[mask + j];
    }
  }

  /**
   * Σ of the squared gradients (the norm's square), in a fixed order: [0, split) then
   * [split, P), each summed by the kernels' fixed lane order; the two threads each sum one part.
   */
  gradientSquares(): number {
    const k = this.kernels;
    const m = this.memory;
    const G = this.gradients;
    const s = this.split;
    return k.sumOfSquares(m, G, s) + k.sumOfSquares(m, G + s, this.parameterBlock - s);
  }

  /** Where the loss functions find a batch in the arena (kept, so training allocates nothing). */
  lossBuffers(): LossBuffers {
    return this.buffers;
  }

  /** The loss buffers of rows from `first` on (a thread's share of a batch); kept while it lasts. */
  lossBuffersFrom(first: number): LossBuffers {
    if (first === 0) return this.buffers;
    const b = this.buffers;
    const shifted = this.shifted;
    if (shifted?.first === first && shifted.from === b) return shifted.buffers;
    const N = this.outputs;
    const buffers = {
      z: b.z + first * N,
      a: b.a + first * N,
      t: b.t + first * N,
      labels: b.labels.subarray(first),
      d: b.d + first * N,
      weights: b.weights.subarray(first),
    };
    this.shifted = { first, from: b, buffers };
    return buffers;
  }

  /** Outputs for `rows` rows of inputs (row-major [rows × inputs]) as [rows × outputs]. */
  predict(inputs: Float32Array, rows: number): Float32Array {
    // Native kernels check a large input is finite as they copy it in (one read of it, not two);
    // a chunk that is not sends the whole check again, for its error naming the value. A small
    // one (a row) is cheaper checked and copied apart: copyFinite's typed-array arguments cost
    // more than the second read.
    const copy = rows * this.inputs >= COPY_CHECKED ? this.kernels.copyFinite : undefined;
    const data = checkDataset({ inputs, rows }, this, undefined, "", 0, copy === undefined);
    const out = new Float32Array(rows * this.outputs);
    const chunk = this.chunkRows(rows);
    const K = this.inputs;
    for (let start = 0; start < rows; start += chunk) {
      const count = Math.min(chunk, rows - start);
      const m = this.memory;
      if (!copy) m.set(data.inputs.subarray(start * K, (start + count) * K), this.input);
      else if (!copy(m, this.input, data.inputs, start * K, count * K)) {
        checkDataset({ inputs, rows }, this, undefined, "", 0);
      }
      const a = this.forward(count);
      out.set(m.subarray(a, a + count * this.outputs), start * this.outputs);
    }
    return out;
  }

  /** Mean loss over `data`, with accuracy (classification losses) or mae (regression losses). */
  evaluate(data: Dataset, loss: LossName): EvaluateResult {
    requireOneOf(loss, "loss", LOSSES);
    checkLossFitsOutput(this, loss);
    return this.evaluateChecked(checkDataset(data, this, loss, "data"), loss);
  }

  /** evaluate() without the argument checks, for data already checked (validation in fit). */
  evaluateChecked(data: Dataset, loss: LossName): EvaluateResult {
    const info = LOSS_INFO[loss];
    const N = this.outputs;
    const chunk = this.chunkRows(data.rows);
    let lossSum = 0;
    let correct = 0;
    let absSum = 0;
    for (let start = 0; start < data.rows; start += chunk) {
      const count = Math.min(chunk, data.rows - start);
      const m = this.memory;
      m.set(data.inputs.subarray(start * this.inputs, (start + count) * this.inputs), this.input);
      if (info.needsLabels) this.labels.set(data.labels!.subarray(start, start + count));
      else m.set(data.targets!.subarray(start * N, (start + count) * N), this.targets);
      const a = this.forward(count);
      const h = this.head;
      lossSum += lossAndGradient(m, info.code, h.act, h.alpha, this.lossBuffers(), count, N, false);
      if (info.classification)
        correct += countCorrect(m, info.code, a, this.targets, this.labels, count, N);
      else absSum += absoluteErrorSum(m, a, this.targets, count * N);
    }
    const result: EvaluateResult = { loss: lossSum / data.rows };
    if (info.classification) result.accuracy = correct / (data.rows * judgedPerRow(info.code, N));
    else result.mae = absSum / (data.rows * N);
    return result;
  }

  /**
   * Copies of the parameters as [W0, b0, W1, b1, …], each W row-major [inputs × units]
   * (tfjs' getWeights order).
   */
  getWeights(): Float32Array[] {
    const out: Float32Array[] = [];
    for (const l of this.layers) {
      out.push(this.memory.slice(l.weights, l.weights + l.inputs * l.units));
      out.push(this.memory.slice(l.bias, l.bias + l.units));
    }
    return out;
  }

  /** Replaces the parameters; sizes must match getWeights() exactly. */
  setWeights(weights: readonly Float32Array[]): void {
    if (!Array.isArray(weights) || weights.length !== 2 * this.layers.length) {
      throw new EngineError(
        "weights",
        `must be ${2 * this.layers.length} arrays (kernel and bias per layer), got ${Array.isArray(weights) ? weights.length : typeof weights}`,
      );
    }
    this.layers.forEach((l, i) => {
      [l.inputs * l.units, l.units].forEach((size, k) => {
        const w = weights[2 * i + k];
        const field = `weights[${2 * i + k}]`;
        if (!(w instanceof Float32Array) || w.length !== size) {
          throw new EngineError(field, `must be a Float32Array of ${size} values (layer ${i})`);
        }
        for (let j = 0; j < size; j++) {
          if (!Number.isFinite(w[j]))
            throw new EngineError(`${field}[${j}]`, `must be finite, got ${w[j]}`);
        }
      });
    });
    this.layers.forEach((l, i) => {
      this.memory.set(weights[2 * i]!, l.weights);
      this.memory.set(weights[2 * i + 1]!, l.bias);
    });
  }

  /** Copies of the parameter block (for best-weight snapshots). */
  snapshotParameters(): Float32Array {
    return this.memory.slice(0, this.parameterBlock);
  }

  restoreParameters(snapshot: Float32Array): void {
    this.memory.set(snapshot, 0);
  }

  private chunkRows(rows: number): number {
    const chunk = Math.max(this.capacity, Math.min(Math.max(rows, 1), DEFAULT_CHUNK));
    this.reserve(chunk);
    return chunk;
  }
}

/** Dropout rates: of the input features, and of each layer's outputs (the last one unused). */
export interface DropoutRates {
  inputs: number;
  layers: readonly number[];
}

interface Dropout {
  inputs: number;
  layers: number[];
  /** Per dropout site k (0: inputs, i + 1: layer i's outputs): offsets, -1 where rate is 0. */
  masks: number[];
  dropped: number[];
}

/**
 * Where two threads split the parameter block: the boundary nearest its middle that falls on a
 * tensor's start or between two rows of a weight matrix (so each thread's weight gradient is
 * whole rows of dW), at a multiple of 4 floats (so the update's vector boundaries stay where
 * one whole update has them).
 */
export function threadSplit(layers: readonly DenseLayer[], P: number): number {
  const target = P / 2;
  let best = 0;
  const consider = (at: number) => {
    if (at % ALIGN === 0 && Math.abs(at - target) < Math.abs(best - target)) best = at;
  };
  for (const l of layers) {
    for (let r = 0; r <= l.inputs; r++) consider(l.weights + r * l.units);
    consider(l.bias);
  }
  consider(P);
  return best;
}

/** The loss <-> output rule of losses.ts (lossOutputProblem), as an EngineError on `loss`. */
export function checkLossFitsOutput(network: Network, loss: LossName): void {
  const act = network.head.activation;
  const problem = lossOutputProblem(loss, act);
  if (problem) {
    throw new EngineError("loss", `${problem}; layers[${network.layers.length - 1}] is ${act}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
