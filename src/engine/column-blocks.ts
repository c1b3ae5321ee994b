/**
 * The forward pass and the deltas of a batch on two threads with the native kernels, as chunks
 * claimed from a shared counter (the addon's columnBlocks): each layer's output is cut into
 * blocks of columns, every row of a block computed by one chunk, and whichever thread is free
 * takes the next block. So a helper thread that loses its time slice costs the batch at most the
 * chunk it holds, instead of half of the batch's rows (the static row halves this replaces).
 *
 * The bits do not depend on the split: each output is its bias, then the fused multiply-adds
 * over k in order, whichever chunk computes it (native/src/kernels.h), and the products keep one
 * call over all of the batch's rows, as one thread makes them. Cutting by columns, not rows,
 * keeps one packing of W: a chunk packs only its own columns (the deltas' chunk transposes its
 * own rows of W into the calling thread's scratch block).
 *
 * A layer waits for the one below it: the addon ends each phase (a layer) at a barrier on the
 * phase's count of finished chunks. The head's activation and the loss need whole rows and run
 * on the main thread between the two passes (parallel-trainer.ts).
 */
import type { NativeKernels } from "./native-kernels.ts";
import type { Network } from "./network.ts";

/** Ints per chunk of the list (native/src/addon.cc): kind, a, w, bias, c, aux, rows, K, N, j0, j1, act, alpha. */
const BLOCK = 13;
const FORWARD = 0;
const INPUT_GRADIENT = 1;
/** Columns of a block are a multiple of this (the AVX-512 copy's panel width). */
const PANEL = 32;
/** Multiply-adds per chunk the blocks aim at (~10 µs at batch 64: small enough to balance). */
const CHUNK_FMAS = 262_144;

/** A pass's chunks and where each of its phases (layers) starts in them. */
interface Pass {
  list: Int32Array;
  floats: Float32Array;
  phases: Int32Array;
  chunks: number;
}

function pass(): Pass {
  const list = new Int32Array(0);
  return { list, floats: new Float32Array(list.buffer), phases: new Int32Array(1), chunks: 0 };
}

export class ColumnBlocks {
  private readonly fwd = pass();
  private readonly back = pass();
  /** The rows and arena the lists were planned for (replanned when either changes). */
  private rows = -1;
  private memory: Float32Array | undefined;

  /**
   * Slots of the shared counters (a claim word and a count of finished chunks a phase): the
   * forward pass's phases, the deltas', then the fused step's two (stepSlot).
   */
  static counterSlots(layers: number): number {
    return 2 * (2 * layers - 1) + 2;
  }

  /** Where the fused step's claim word and count lie in the counters. */
  static stepSlot(layers: number): number {
    return 2 * (2 * layers - 1);
  }

  /**
   * Opens batch `gen` (the batch's sequence number mod 2^15): every claim word to its first
   * chunk, every count to 0. Before the helper is told of the batch.
   */
  static open(counters: Int32Array, gen: number): void {
    for (let i = 0; i < counters.length; i += 2) {
      Atomics.store(counters, i, gen << 16);
      Atomics.store(counters, i + 1, 0);
    }
  }

  /**
   * Every layer's forward over `rows` rows (the head to its logits, not activated) of batch
   * `gen`; false when this thread came after the batch was over.
   */
  forward(
    net: Network,
    k: NativeKernels,
    rows: number,
    counters: Int32Array,
    gen: number,
  ): boolean {
    this.plan(net, rows);
    const p = this.fwd;
    const s = net.scratch;
    return k.columnBlocks(net.memory, p.list, p.phases, counters, 0, s, net.scratchSize, gen);
  }

  /** The deltas of every layer below the head from the head's (written by the loss). */
  deltas(net: Network, k: NativeKernels, rows: number, counters: Int32Array, gen: number): boolean {
    this.plan(net, rows);
    const p = this.back;
    const slot = 2 * net.layers.length;
    const s = net.scratch;
    return k.columnBlocks(net.memory, p.list, p.phases, counters, slot, s, net.scratchSize, gen);
  }

  private plan(net: Network, rows: number): void {
    if (rows === this.rows && net.memory === this.memory) return;
    this.rows = rows;
    this.memory = net.memory;
    const layers = net.layers;
    const head = layers.length - 1;
    const f = this.fwd;
    f.phases = new Int32Array(layers.length + 1);
    this.fill(
      f,
      layers.map((l, i) => ({
        kind: FORWARD,
        a: net.layerInput(i),
        w: l.weights,
        bias: l.bias,
        c: i === head ? net.logits : l.output,
        aux: 0,
        K: l.inputs,
        N: l.units,
        width: l.units,
        act: i === head ? 0 : l.act,
        alpha: i === head ? 0 : l.alpha,
      })),
      rows,
    );
    const b = this.back;
    const below = [];
    for (let i = head; i > 0; i--) {
      const l = layers[i]!;
      const p = layers[i - 1]!;
      below.push({
        kind: INPUT_GRADIENT,
        a: l.delta,
        w: l.weights,
        bias: 0,
        c: p.delta,
        aux: p.output,
        K: l.inputs,
        N: l.units,
        width: l.inputs,
        act: p.act,
        alpha: p.alpha,
      });
    }
    b.phases = new Int32Array(below.length + 1);
    this.fill(b, below, rows);
  }

  /** Cuts each product's `width` output columns into blocks (one phase each) into `p`. */
  private fill(
    p: Pass,
    products: {
      kind: number;
      a: number;
      w: number;
      bias: number;
      c: number;
      aux: number;
      K: number;
      N: number;
      width: number;
      act: number;
      alpha: number;
    }[],
    rows: number,
  ): void {
    const steps = products.map((q) => blockWidth(rows, q.kind === FORWARD ? q.K : q.N, q.width));
    const chunks = products.reduce((n, q, i) => n + Math.ceil(q.width / steps[i]!), 0);
    if (p.list.length < chunks * BLOCK) {
      p.list = new Int32Array(chunks * BLOCK);
      p.floats = new Float32Array(p.list.buffer);
    }
    let at = 0;
    products.forEach((q, i) => {
      p.phases[i] = at / BLOCK;
      for (let j0 = 0; j0 < q.width; j0 += steps[i]!) {
        const e = [q.kind, q.a, q.w, q.bias, q.c, q.aux, rows, q.K, q.N, j0];
        p.list.set(e, at);
        p.list[at + 10] = Math.min(q.width, j0 + steps[i]!);
        p.list[at + 11] = q.act;
        p.floats[at + 12] = q.alpha;
        at += BLOCK;
      }
    });
    p.phases[products.length] = at / BLOCK;
    p.chunks = chunks;
  }
}

/** Columns per block of a product with `depth` multiply-adds an output: PANEL multiples. */
function blockWidth(rows: number, depth: number, width: number): number {
  const columns = Math.ceil(CHUNK_FMAS / Math.max(1, rows * depth) / PANEL) * PANEL;
  return Math.max(PANEL, Math.min(width, columns));
}
