/**
 * Two threads' shares of one mini-batch (parallel-trainer.ts, parallel-worker.ts), split so that
 * the result does not depend on the split: rows for everything a row owns (forward, loss
 * gradient, the deltas: Network.forward and backwardDeltas with `first`), outputs for every sum
 * over rows. The weight gradients are cut by parameter ranges at Network.split: each thread
 * computes whole rows of dW (and whole bias gradients) of its range, every value summed over all
 * of the batch's rows in order, exactly as one thread sums it. The one sum across the threads,
 * the gradient norm's squares, is its two ranges' sums added in a fixed order
 * (Network.gradientSquares), which one thread takes in the same two parts.
 */
import type { NativeKernels } from "./native-kernels.ts";
import type { Network } from "./network.ts";
import type { WasmKernels } from "./wasm-kernels.ts";

/** A kernel set over a memory both threads share (WebAssembly or native). */
export type SharedKernels = WasmKernels | NativeKernels;

/**
 * The weight and bias gradients of the parameters in [lo, hi) of the parameter block, over all
 * `rows` rows of the batch (both threads' deltas written); returns their sum of squares.
 * `lo` and `hi` are Network.split, 0 or P: rows of dW fall wholly on one side.
 */
export function rangeGradients(
  net: Network,
  k: SharedKernels,
  rows: number,
  lo: number,
  hi: number,
): number {
  const m = net.memory;
  const G = net.gradients;
  const rowOf = (at: number, w: number, K: number, N: number) =>
    Math.min(K, Math.max(0, Math.ceil((at - w) / N)));
  net.layers.forEach((l, i) => {
    const K = l.inputs;
    const N = l.units;
    const k0 = rowOf(lo, l.weights, K, N);
    const k1 = rowOf(hi, l.weights, K, N);
    const bias = l.bias >= lo && l.bias < hi;
    if (k1 <= k0 && !bias) return;
    const x = i === 0 ? net.input : net.layers[i - 1]!.output;
    k.weightGradientRows(m, x, l.delta, l.weights + G, l.bias + G, rows, K, N, k0, k1, bias);
  });
  return k.sumOfSquares(m, G + lo, hi - lo);
}
