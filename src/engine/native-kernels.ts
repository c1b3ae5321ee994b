/**
 * The native kernel sets: the engine's hot loops in C++ (native/src, built by
 * scripts/native-build.sh from postinstall into native/build/Release/nnserve_native.node, never
 * committed), loaded through Node-API. The addon holds three copies of the same kernels, compiled
 * for AVX-512, AVX2+FMA and plain scalar code; `isas()` says which this CPU runs, best first.
 *
 * The addon is loaded once, on the first network that asks for it (with wasm-kernels.ts's reads,
 * the engine's only file access); a missing or unloadable addon is simply not offered and the
 * choice falls back to WebAssembly. `nativeStatus()` says why, for the start log line.
 *
 * Each network's arena is a plain Float32Array (a shared one for two threads); every call passes
 * it with element offsets, and the addon checks each region against it before it runs.
 */
import { createRequire } from "node:module";
import { ACT_SOFTMAX } from "./activations.ts";
import { growArena } from "./arena.ts";
import type { KernelSet, NativeBackend } from "./kernel-set.ts";

export const NATIVE_ISAS = ["avx512", "avx2", "scalar"] as const;
export type NativeIsa = (typeof NATIVE_ISAS)[number];

/**
 * One copy's functions (argument order as in native/src/addon.cc). The kernels shared with
 * KernelSet take its signatures, so a kernel's argument list is declared once (kernel-set.ts).
 */
interface NativeFunctions
  extends Pick<
    KernelSet,
    | "denseForward"
    | "backwardInput"
    | "sumOfSquares"
    | "sgdUpdate"
    | "momentumUpdate"
    | "rmspropUpdate"
    | "adamUpdate"
  > {
  weightSteps: NonNullable<KernelSet["weightSteps"]>;
  gatherRows: NonNullable<KernelSet["gatherRows"]>;
  copyFinite: NonNullable<KernelSet["copyFinite"]>;
  isa: NativeIsa;
  /** KernelSet's backwardWeights, `squares` required. */
  backwardWeights(...args: Required<Parameters<KernelSet["backwardWeights"]>>): number;
  activate(m: Float32Array, z: number, a: number, n: number, act: number, alpha: number): void;
  softmax(m: Float32Array, z: number, a: number, rows: number, N: number): void;
  allFinite(values: Float32Array): boolean;
  scale: KernelSet["scaleInPlace"];
  columnBlocks(
    m: Float32Array,
    list: Int32Array,
    phases: Int32Array,
    counters: Int32Array,
    slot: number,
    scratch: number,
    scratchFloats: number,
    gen: number,
  ): boolean;
  weightGradient(
    m: Float32Array,
    x: number,
    dz: number,
    dw: number,
    db: number,
    rows: number,
    K: number,
    N: number,
    k0: number,
    k1: number,
    bias: boolean,
  ): void;
}

export interface NativeAddon {
  isas(): NativeIsa[];
  kernels(isa: NativeIsa): NativeFunctions;
}

/** Where the addon lies, from src/engine (the sources) or dist/src/engine (tsc output). */
const ADDON_PATHS = [
  "../../native/build/Release/nnserve_native.node",
  "../../../native/build/Release/nnserve_native.node",
];

let addon: NativeAddon | null | undefined;
let loadError = "";

/** The addon, or null when it is not built or cannot load here. */
export function nativeAddon(): NativeAddon | null {
  if (addon === undefined) {
    addon = null;
    const require = createRequire(import.meta.url);
    const errors: string[] = [];
    for (const path of ADDON_PATHS) {
      try {
        addon = require(new URL(path, import.meta.url).pathname) as NativeAddon;
        break;
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        if (e.code !== "MODULE_NOT_FOUND") errors.push(e.message.split("\n")[0] ?? String(e));
      }
    }
    loadError =
      errors[0] ?? "not built (no C++ compiler at install, or `npm run build:native` not run)";
  }
  return addon;
}

/** Why no native backend runs here (empty when one does), for the start log line. */
export function nativeStatus(): string {
  return nativeAddon() ? "" : loadError;
}

/** The instruction sets this CPU runs the addon with, best first (empty without the addon). */
export function nativeIsas(): NativeIsa[] {
  return nativeAddon()?.isas() ?? [];
}

const functions = new Map<NativeIsa, NativeFunctions>();

let finite: ((values: Float32Array) => boolean) | null | undefined;

/**
 * The addon's check that a Float32Array holds no NaN or ±Infinity (any copy: the answer is the
 * same), or null without the addon. About ten times the JavaScript loop's speed, which counts
 * on the prediction path (200,000 inputs for 256 images) and once per fit over the whole set.
 */
export function nativeAllFinite(): ((values: Float32Array) => boolean) | null {
  if (finite === undefined) {
    const isa = nativeIsas()[0];
    finite = isa ? nativeAddon()!.kernels(isa).allFinite : null;
  }
  return finite;
}

/**
 * The native kernel set for `wanted`: "native" is NNSERVE_NATIVE_ISA's copy when set, else the
 * best vector copy; a vector copy this CPU lacks falls to the next vector copy. Null when none
 * runs (no addon, or no vector unit and the scalar copy not asked for). `a` is for tests.
 */
export function nativeKernels(
  wanted: NativeBackend | "native",
  a: NativeAddon | null = nativeAddon(),
): NativeKernels | null {
  if (!a) return null;
  let isa: NativeIsa = "avx512";
  if (wanted === "native") {
    const env = globalThis.process?.env?.NNSERVE_NATIVE_ISA as NativeIsa | undefined;
    if (env && NATIVE_ISAS.includes(env)) isa = env;
  } else {
    isa = wanted.slice("native-".length) as NativeIsa;
  }
  const runs = a.isas();
  const order = isa === "scalar" ? ["scalar"] : NATIVE_ISAS.slice(NATIVE_ISAS.indexOf(isa), 2);
  const pick = order.find((i) => runs.includes(i as NativeIsa)) as NativeIsa | undefined;
  if (!pick) return null;
  let fns = a === addon ? functions.get(pick) : undefined;
  if (!fns) {
    fns = a.kernels(pick);
    if (a === addon) functions.set(pick, fns);
  }
  return new NativeKernels(fns);
}

/** A memory that two threads share: its buffer, and the byte where this set's arena starts. */
export interface SharedRegion {
  memory: { readonly buffer: ArrayBufferLike };
  base: number;
}

export class NativeKernels implements KernelSet {
  readonly backend: NativeBackend;
  private readonly k: NativeFunctions;
  /** For two threads: the shared memory and the byte offset of arena offset 0. */
  readonly memory: { readonly buffer: ArrayBufferLike } | undefined;
  readonly base: number;
  /*
   * The kernels whose arguments the addon takes as KernelSet passes them: its own functions
   * (they ignore `this`), not wrappers that forward each argument.
   */
  readonly denseForward: KernelSet["denseForward"];
  readonly backwardInput: KernelSet["backwardInput"];
  readonly sumOfSquares: KernelSet["sumOfSquares"];
  readonly scaleInPlace: KernelSet["scaleInPlace"];
  readonly sgdUpdate: KernelSet["sgdUpdate"];
  readonly momentumUpdate: KernelSet["momentumUpdate"];
  readonly rmspropUpdate: KernelSet["rmspropUpdate"];
  readonly adamUpdate: KernelSet["adamUpdate"];
  readonly weightSteps: NonNullable<KernelSet["weightSteps"]>;
  readonly gatherRows: NonNullable<KernelSet["gatherRows"]>;
  readonly copyFinite: NonNullable<KernelSet["copyFinite"]>;

  constructor(k: NativeFunctions, shared?: SharedRegion) {
    this.k = k;
    this.backend = `native-${k.isa}`;
    this.memory = shared?.memory;
    this.base = shared?.base ?? 0;
    this.denseForward = k.denseForward;
    this.backwardInput = k.backwardInput;
    this.sumOfSquares = k.sumOfSquares;
    this.scaleInPlace = k.scale;
    this.sgdUpdate = k.sgdUpdate;
    this.momentumUpdate = k.momentumUpdate;
    this.rmspropUpdate = k.rmspropUpdate;
    this.adamUpdate = k.adamUpdate;
    this.weightSteps = k.weightSteps;
    this.gatherRows = k.gatherRows;
    this.copyFinite = k.copyFinite;
  }

  /** This set over a shared memory (two-thread training), the same copy of the kernels. */
  over(shared: SharedRegion): NativeKernels {
    return new NativeKernels(this.k, shared);
  }

  /**
   * A private arena is a fresh ArrayBuffer (the previous one's first `keep` floats copied); a
   * shared one is a view of the fixed shared memory, zeroed past `keep` when re-planning.
   */
  arena(previous: Float32Array | undefined, size: number, keep: number): Float32Array {
    if (!this.memory) return growArena(previous, size, keep);
    const view = new Float32Array(this.memory.buffer, this.base, size);
    if (previous) view.fill(0, keep);
    return view;
  }

  /**
   * Rows [k0, k1) of a layer's weight gradient dW = Xᵀ·dZ, and its bias gradient with `bias`:
   * one thread's share when two threads split the gradients by outputs (parallel-step.ts).
   */
  weightGradientRows(
    m: Float32Array,
    x: number,
    dz: number,
    dw: number,
    db: number,
    rows: number,
    K: number,
    N: number,
    k0: number,
    k1: number,
    bias: boolean,
  ): void {
    this.k.weightGradient(m, x, dz, dw, db, rows, K, N, k0, k1, bias);
  }

  /**
   * Phases of column blocks claimed from a shared counter by both training threads
   * (column-blocks.ts; native/src/addon.cc's columnBlocks for the arguments).
   */
  columnBlocks(
    m: Float32Array,
    list: Int32Array,
    phases: Int32Array,
    counters: Int32Array,
    slot: number,
    scratch: number,
    scratchFloats: number,
    gen: number,
  ): boolean {
    return this.k.columnBlocks(m, list, phases, counters, slot, scratch, scratchFloats, gen);
  }

  /**
   * weightSteps shared by two threads (fused-step.ts): claims tagged with the batch's `gen`, each
   * chunk's squares into `squares`, and the call returns, once every chunk is done, their sum in
   * chunk order; undefined for a thread that came after the batch was over.
   */
  sharedWeightSteps(
    args: Parameters<NonNullable<KernelSet["weightSteps"]>>,
    gen: number,
    squares: Float64Array,
  ): number | undefined {
    const steps = this.k.weightSteps as unknown as (...a: unknown[]) => number | undefined;
    return steps(...args, gen, squares);
  }

  readonly activateInto: KernelSet["activateInto"] = (m, z, a, rows, N, act, alpha) => {
    if (act === ACT_SOFTMAX) this.k.softmax(m, z, a, rows, N);
    else this.k.activate(m, z, a, rows * N, act, alpha);
  };

  readonly backwardWeights: KernelSet["backwardWeights"] = (
    m,
    x,
    dz,
    dw,
    db,
    rows,
    K,
    N,
    squares = false,
  ) => this.k.backwardWeights(m, x, dz, dw, db, rows, K, N, squares);
}
