/**
 * The kernel interface: every hot loop a network runs, behind one object per network, so the
 * JavaScript loops (kernels.ts) and the WebAssembly SIMD ones (wasm-kernels.ts) are swapped
 * without the network, trainers or optimizers knowing which they use.
 *
 * A kernel set also owns the arena's memory: `arena()` returns the Float32Array the network
 * keeps. For the WebAssembly sets that array is a view of the module's own memory, so every
 * argument below is an element offset into it and nothing is copied; `m` is passed for the
 * JavaScript set and must be the array `arena()` returned last.
 *
 * Backends, fastest first: "native-avx512" / "native-avx2" (C++ through Node-API, one copy per
 * instruction set; "native-scalar" is the portable copy, run only when asked for), "relaxed"
 * (WebAssembly relaxed SIMD, fused multiply-add), "simd" (128-bit SIMD), "js". Chosen per
 * network by `createNetwork(spec, { kernels })`, else by the NNSERVE_KERNELS environment
 * variable, else the fastest the runtime has; a backend that cannot run here (addon or binary
 * not built, CPU or runtime without the instructions) falls back to the next one, silently.
 * `network.kernels.backend` tells which one runs. The native copies agree bit for bit with each
 * other; across families results agree within float tolerance (the WebAssembly sets sum in
 * float32 without the same fused steps, the JavaScript one in float64).
 */
import { growArena } from "./arena.ts";
import {
  activateInto,
  adamUpdate,
  backwardInput,
  backwardWeights,
  denseForward,
  momentumUpdate,
  rmspropUpdate,
  scaleInPlace,
  sgdUpdate,
  sumOfSquares,
} from "./kernels.ts";

/** The native copies (native-kernels.ts), best first; "native-scalar" only runs when asked for. */
export const NATIVE_BACKENDS = ["native-avx512", "native-avx2", "native-scalar"] as const;
export type NativeBackend = (typeof NATIVE_BACKENDS)[number];
export const KERNEL_BACKENDS = [...NATIVE_BACKENDS, "relaxed", "simd", "js"] as const;
export type KernelBackend = (typeof KERNEL_BACKENDS)[number];
/** What may be asked for: a backend, or "native" (the best native copy this CPU runs). */
export const KERNEL_REQUESTS = ["native", ...KERNEL_BACKENDS] as const;
export type KernelRequest = (typeof KERNEL_REQUESTS)[number];

/**
 * The kernel ABI, declared here once: the addon's functions (native-kernels.ts) and the
 * WebAssembly exports (wasm-kernels.ts) take their kernels' types from it.
 */
export interface KernelSet {
  readonly backend: KernelBackend;
  /** The arena: `size` floats, the first `keep` of `previous` kept, the rest zero. */
  arena(previous: Float32Array | undefined, size: number, keep: number): Float32Array;
  /** Y = f(X·W + b): X [rows×K], W [K×N], b [N], Y [rows×N]; `act` element-wise. */
  denseForward(
    m: Float32Array,
    x: number,
    w: number,
    b: number,
    y: number,
    rows: number,
    K: number,
    N: number,
    act: number,
    alpha: number,
  ): void;
  /** A = f(Z) element-wise, or softmax per row. */
  activateInto(
    m: Float32Array,
    z: number,
    a: number,
    rows: number,
    N: number,
    act: number,
    alpha: number,
  ): void;
  /**
   * dX = (dZ·Wᵀ) ⊙ f'(A_prev): dZ [rows×N], W [K×N], dX and A_prev [rows×K]. `scratch` is K·N
   * floats of the arena the kernel may overwrite (the WebAssembly sets pack Wᵀ there).
   */
  backwardInput(
    m: Float32Array,
    dz: number,
    w: number,
    dx: number,
    aPrev: number,
    rows: number,
    N: number,
    K: number,
    act: number,
    alpha: number,
    scratch: number,
  ): void;
  /**
   * dW = Xᵀ·dZ [K×N] and db = column sums of dZ [N], both overwritten. With `squares`, returns
   * Σ dW² + Σ db² (the layer's share of the gradient norm), else 0.
   */
  backwardWeights(
    m: Float32Array,
    x: number,
    dz: number,
    dw: number,
    db: number,
    rows: number,
    K: number,
    N: number,
    squares?: boolean,
  ): number;
  sumOfSquares(m: Float32Array, off: number, n: number): number;
  scaleInPlace(m: Float32Array, off: number, n: number, factor: number): void;
  sgdUpdate(m: Float32Array, p: number, g: number, n: number, lr: number, wd: number): void;
  momentumUpdate(
    m: Float32Array,
    p: number,
    g: number,
    buf: number,
    n: number,
    lr: number,
    mu: number,
    wd: number,
    nesterov: boolean,
  ): void;
  rmspropUpdate(
    m: Float32Array,
    p: number,
    g: number,
    sq: number,
    n: number,
    lr: number,
    rho: number,
    eps: number,
    wd: number,
  ): void;
  adamUpdate(
    m: Float32Array,
    p: number,
    g: number,
    m1: number,
    m2: number,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    wd: number,
    bc1: number,
    bc2: number,
  ): void;
  /**
   * The fused step (native kernels only; fused-step.ts): the chunks of `list` (9 ints each: x,
   * dz, w, b, K, N, k0, k1, bias), claimed from counter[slot], each rows [k0, k1) of a layer's
   * dW = Xᵀ·dZ (and with `bias` its db) applied by Adam as computed. Returns the applied
   * gradients' sum of squares.
   */
  weightSteps?(
    m: Float32Array,
    list: Int32Array,
    chunks: number,
    counter: Int32Array,
    slot: number,
    rows: number,
    P: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    wd: number,
    decoupled: boolean,
    decay: number,
    bc1: number,
    bc2: number,
  ): number;
  /**
   * Copies src[from, from + n) into the arena at dst and returns whether every value was finite
   * (native only: the check rides on the copy's one read; prediction's input).
   */
  copyFinite?(m: Float32Array, dst: number, src: Float32Array, from: number, n: number): boolean;
  /**
   * Rows order[start..start+count) of `data` [* × width] into the arena at dst (native only:
   * the next rows fetched ahead); otherwise kernels.ts's gatherRows.
   */
  gatherRows?(
    m: Float32Array,
    dst: number,
    data: Float32Array,
    order: Int32Array,
    start: number,
    count: number,
    width: number,
  ): void;
}

/** The JavaScript loops of kernels.ts (float64 sums, 4×4 register blocks). */
export const JS_KERNELS: KernelSet = {
  backend: "js",
  arena: growArena,
  denseForward,
  activateInto,
  backwardInput, // needs no scratch: it reads W in place
  backwardWeights: (m, x, dz, dw, db, rows, K, N, squares) => {
    backwardWeights(m, x, dz, dw, db, rows, K, N);
    return squares ? sumOfSquares(m, dw, K * N) + sumOfSquares(m, db, N) : 0;
  },
  sumOfSquares,
  scaleInPlace,
  sgdUpdate,
  momentumUpdate,
  rmspropUpdate,
  adamUpdate,
};
