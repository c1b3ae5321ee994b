/**
 * The WebAssembly kernel sets and the choice of backend for a network.
 *
 * The binaries are built from wasm/assembly/kernels.ts by `npm run build:wasm` (also run by
 * postinstall and build) into wasm/build/kernels-{simd,relaxed}.wasm, next to this file, and
 * kernels-{simd,relaxed}-shared.wasm over a shared memory (two-thread training). Each is read
 * once, on the first network that asks for it: the engine's only file reads, and with
 * NNSERVE_KERNELS its only look at the environment. A binary that is missing or that this
 * runtime cannot validate (relaxed SIMD on Node 20 without --experimental-wasm-relaxed-simd) is
 * simply not offered: the choice falls back to the next backend, without an error or a warning.
 *
 * Each network gets its own instance over its own WebAssembly.Memory, which is its arena for its
 * whole life (grown in place by reserve()); the JavaScript side keeps a Float32Array view of it.
 */
import { readFileSync } from "node:fs";
import { ACT_SOFTMAX } from "./activations.ts";
import { EngineError } from "./errors.ts";
import {
  JS_KERNELS,
  KERNEL_REQUESTS,
  type KernelBackend,
  type KernelRequest,
  type KernelSet,
  NATIVE_BACKENDS,
  type NativeBackend,
} from "./kernel-set.ts";
import { softmaxRows } from "./kernels.ts";
import { nativeIsas, nativeKernels } from "./native-kernels.ts";

export const WASM_BACKENDS = ["relaxed", "simd"] as const;
export type WasmBackend = (typeof WASM_BACKENDS)[number];
const WASM_ORDER = [...WASM_BACKENDS, "js"] as const;

/*
 * The slice of the WebAssembly JS API used here (the project's lib has no DOM types and
 * @types/node does not declare it).
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(pages: number): number;
  }
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  function validate(bytes: Uint8Array): boolean;
}

/** The module's exports (pointers and strides in bytes; see wasm/assembly/kernels.ts). */
interface KernelExports {
  gemm(
    a: number,
    ars: number,
    acs: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    M: number,
    K: number,
    N: number,
    bias: number,
    useBias: number,
    mode: number,
    act: number,
    alpha: number,
    aux: number,
    auxld: number,
  ): void;
  transpose(src: number, dst: number, K: number, N: number): void;
  staticDataEnd(): number;
  columnSums(dz: number, db: number, rows: number, N: number, squares: number): void;
  takeSquares(): number;
  activateRange(z: number, a: number, n: number, act: number, alpha: number): void;
  sumOfSquares: Exported<KernelSet["sumOfSquares"]>;
  scale: Exported<KernelSet["scaleInPlace"]>;
  sgdUpdate: Exported<KernelSet["sgdUpdate"]>;
  momentumUpdate: Exported<KernelSet["momentumUpdate"]>;
  rmspropUpdate: Exported<KernelSet["rmspropUpdate"]>;
  adamUpdate: Exported<KernelSet["adamUpdate"]>;
}

/**
 * A KernelSet kernel as the module exports it, so its argument list is declared once
 * (kernel-set.ts): no arena argument (the module's memory is the arena), the offsets as byte
 * addresses, a boolean as 0 or 1.
 */
type Exported<F> = F extends (m: Float32Array, ...args: infer A) => infer R
  ? (...args: { [I in keyof A]: A[I] extends boolean ? number : A[I] }) => R
  : never;

const EPI_NONE = 0;
const EPI_ACTIVATE = 1;
const EPI_DERIVATIVE = 2;
const EPI_SQUARES = 3;
/** Floats past the arena's end that over-reading vector loads may touch (see the sources). */
const PAD = 16;
const PAGE = 65536;

const modules = new Map<string, WebAssembly.Module | null>();

/**
 * The compiled module of a backend (over a shared memory when `shared`, for two threads), or
 * null when it is not built or cannot run here.
 */
export function wasmModule(backend: WasmBackend, shared = false): WebAssembly.Module | null {
  const name = shared ? `${backend}-shared` : backend;
  let mod = modules.get(name);
  if (mod === undefined) {
    mod = null;
    try {
      const bytes = readFileSync(new URL(`./wasm/build/kernels-${name}.wasm`, import.meta.url));
      if (WebAssembly.validate(bytes)) mod = new WebAssembly.Module(bytes);
    } catch {
      mod = null; // not built: the next backend runs
    }
    modules.set(name, mod);
  }
  return mod;
}

/** A shared memory of `pages` 64 KiB pages, fixed size (for two threads, parallel-trainer.ts). */
export function sharedMemory(pages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

/** Which backends this process can run, fastest first ("js" always). */
export function availableKernelBackends(): KernelBackend[] {
  const native = nativeIsas().map((isa) => `native-${isa}` as NativeBackend);
  return [...native, ...WASM_ORDER.filter((b) => b === "js" || wasmModule(b) !== null)];
}

/** The backend a network gets by default here: what createKernels() picks, without building it. */
export function defaultKernelBackend(): KernelBackend {
  return createKernels().backend;
}

/**
 * A kernel set for one network: `requested`, else NNSERVE_KERNELS, else the fastest available
 * ("native"); an unavailable backend falls back to the next one: a native copy to the next
 * vector copy, then "relaxed" → "simd" → "js".
 */
export function createKernels(requested?: KernelRequest): KernelSet {
  if (requested !== undefined && !KERNEL_REQUESTS.includes(requested)) {
    throw new EngineError(
      "kernels",
      `must be one of ${KERNEL_REQUESTS.join(", ")}; got ${String(requested)}`,
    );
  }
  const fromEnv = globalThis.process?.env?.NNSERVE_KERNELS as KernelRequest | undefined;
  const wanted = requested ?? (fromEnv && KERNEL_REQUESTS.includes(fromEnv) ? fromEnv : "native");
  if (wanted === "native" || (NATIVE_BACKENDS as readonly string[]).includes(wanted)) {
    return nativeKernels(wanted as NativeBackend | "native") ?? kernelsFrom("relaxed", wasmModule);
  }
  return kernelsFrom(wanted as WasmBackend | "js", wasmModule);
}

/** The first backend from `wanted` down that `load` has a module for (exported for tests). */
export function kernelsFrom(
  wanted: WasmBackend | "js",
  load: (backend: WasmBackend) => WebAssembly.Module | null,
): KernelSet {
  for (const backend of WASM_ORDER.slice(WASM_ORDER.indexOf(wanted))) {
    if (backend === "js") return JS_KERNELS;
    const mod = load(backend);
    if (mod) return new WasmKernels(backend, mod);
  }
  return JS_KERNELS;
}

export class WasmKernels implements KernelSet {
  readonly backend: KernelBackend;
  readonly memory: WebAssembly.Memory;
  private readonly k: KernelExports;
  /**
   * Byte address of arena offset 0: past the module's static data (its math tables), rounded
   * up to a cache line. Every element offset o is passed to the module as base + 4·o.
   */
  readonly base: number;

  /**
   * An instance over `memory` (default: a fresh one) whose arena starts at byte `base` (default:
   * right after the module's static data). Two threads share one memory with two bases.
   */
  constructor(
    backend: WasmBackend,
    mod: WebAssembly.Module,
    memory?: WebAssembly.Memory,
    base?: number,
  ) {
    this.backend = backend;
    this.memory = memory ?? new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(mod, { env: { memory: this.memory } });
    this.k = instance.exports as unknown as KernelExports;
    this.base = base ?? Math.ceil(this.k.staticDataEnd() / 64) * 64;
  }

  /**
   * Grows the memory in place (so everything is kept) and zeroes [keep, size + PAD) when
   * re-planning (`previous` given); a first arena is fresh zeroed memory, or, for a two-thread
   * helper's view, the main network's, which must stay as it is.
   */
  arena(previous: Float32Array | undefined, size: number, keep: number): Float32Array {
    const bytes = this.base + (size + PAD) * 4;
    const have = this.memory.buffer.byteLength;
    if (have < bytes) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    if (previous) new Float32Array(this.memory.buffer, this.base, size + PAD).fill(0, keep);
    return new Float32Array(this.memory.buffer, this.base, size);
  }

  /** The module's byte address of arena offset `o`. */
  private at(o: number): number {
    return this.base + o * 4;
  }

  readonly denseForward: KernelSet["denseForward"] = (_m, x, w, b, y, rows, K, N, act, alpha) => {
    const ld = N * 4;
    this.k.gemm(
      this.at(x),
      K * 4,
      4,
      this.at(w),
      ld,
      this.at(y),
      ld,
      rows,
      K,
      N,
      this.at(b),
      1,
      EPI_ACTIVATE,
      act,
      alpha,
      0,
      0,
    );
  };

  readonly activateInto: KernelSet["activateInto"] = (m, z, a, rows, N, act, alpha) => {
    if (act === ACT_SOFTMAX) softmaxRows(m, z, a, rows, N);
    else this.k.activateRange(this.at(z), this.at(a), rows * N, act, alpha);
  };

  readonly backwardInput: KernelSet["backwardInput"] = (
    _m,
    dz,
    w,
    dx,
    aPrev,
    rows,
    N,
    K,
    act,
    alpha,
    scratch,
  ) => {
    // dX [rows×K] = dZ [rows×N] · Wᵀ [N×K], with Wᵀ packed into the scratch block first.
    this.k.transpose(this.at(w), this.at(scratch), K, N);
    const ld = K * 4;
    this.k.gemm(
      this.at(dz),
      N * 4,
      4,
      this.at(scratch),
      ld,
      this.at(dx),
      ld,
      rows,
      N,
      K,
      0,
      0,
      EPI_DERIVATIVE,
      act,
      alpha,
      this.at(aPrev),
      ld,
    );
  };

  readonly backwardWeights: KernelSet["backwardWeights"] = (
    _m,
    x,
    dz,
    dw,
    db,
    rows,
    K,
    N,
    squares = false,
  ) => {
    // dW [K×N] = Xᵀ [K×rows] · dZ [rows×N]: A read down X's columns (row stride 1 float); the
    // squares, when asked, are summed from each tile as it is stored.
    const ld = N * 4;
    this.k.gemm(
      this.at(x),
      4,
      K * 4,
      this.at(dz),
      ld,
      this.at(dw),
      ld,
      K,
      rows,
      N,
      0,
      0,
      squares ? EPI_SQUARES : EPI_NONE,
      0,
      0,
      0,
      0,
    );
    this.k.columnSums(this.at(dz), this.at(db), rows, N, squares ? 1 : 0);
    return squares ? this.k.takeSquares() : 0;
  };

  /** Rows [k0, k1) of dW = Xᵀ·dZ and, with `bias`, db (NativeKernels.weightGradientRows). */
  weightGradientRows(
    _m: Float32Array,
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
    const ld = N * 4;
    const M = k1 - k0;
    if (M > 0) {
      const a = this.at(x + k0);
      this.k.gemm(
        a,
        4,
        K * 4,
        this.at(dz),
        ld,
        this.at(dw + k0 * N),
        ld,
        M,
        rows,
        N,
        0,
        0,
        EPI_NONE,
        0,
        0,
        0,
        0,
      );
    }
    if (bias) this.k.columnSums(this.at(dz), this.at(db), rows, N, 0);
  }

  /*
   * The kernels the module runs as KernelSet declares them, but for the arena's element offsets,
   * passed as byte addresses (the arena argument is the module's memory itself).
   */
  readonly sumOfSquares: KernelSet["sumOfSquares"] = (_m, off, n) =>
    this.k.sumOfSquares(this.at(off), n);

  readonly scaleInPlace: KernelSet["scaleInPlace"] = (_m, off, n, factor) =>
    this.k.scale(this.at(off), n, factor);

  readonly sgdUpdate: KernelSet["sgdUpdate"] = (_m, p, g, n, lr, wd) =>
    this.k.sgdUpdate(this.at(p), this.at(g), n, lr, wd);

  readonly momentumUpdate: KernelSet["momentumUpdate"] = (_m, p, g, buf, n, lr, mu, wd, nesterov) =>
    this.k.momentumUpdate(this.at(p), this.at(g), this.at(buf), n, lr, mu, wd, nesterov ? 1 : 0);

  readonly rmspropUpdate: KernelSet["rmspropUpdate"] = (_m, p, g, sq, n, lr, rho, eps, wd) =>
    this.k.rmspropUpdate(this.at(p), this.at(g), this.at(sq), n, lr, rho, eps, wd);

  readonly adamUpdate: KernelSet["adamUpdate"] = (
    _m,
    p,
    g,
    m1,
    m2,
    n,
    lr,
    beta1,
    beta2,
    eps,
    wd,
    bc1,
    bc2,
  ) =>
    this.k.adamUpdate(
      this.at(p),
      this.at(g),
      this.at(m1),
      this.at(m2),
      n,
      lr,
      beta1,
      beta2,
      eps,
      wd,
      bc1,
      bc2,
    );
}
