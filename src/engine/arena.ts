/**
 * One block of Float32 memory for everything a network touches in its hot loops: parameters,
 * gradients, optimizer state and the per-batch activations. Kernels address it by element
 * offset, so the block can later be a WebAssembly.Memory that SIMD kernels share without copies.
 *
 * The planner hands out offsets aligned to 4 floats (16 bytes, one 128-bit SIMD lane group).
 */

export const ALIGN = 4;

export class ArenaPlanner {
  size = 0;

  /** Reserves n floats and returns their offset. */
  take(n: number): number {
    const offset = this.size;
    this.size += Math.ceil(n / ALIGN) * ALIGN;
    return offset;
  }
}

/** A fresh arena of `size` floats, keeping the first `keep` floats of `previous`. */
export function growArena(
  previous: Float32Array | undefined,
  size: number,
  keep: number,
): Float32Array {
  const memory = new Float32Array(new ArrayBuffer(size * 4));
  if (previous) memory.set(previous.subarray(0, keep));
  return memory;
}
