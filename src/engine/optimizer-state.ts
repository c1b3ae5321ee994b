/**
 * An optimizer's state outside the arena, so a later fit can continue exactly where one ended
 * (warm start): the state slots (momentum, squared-gradient averages, Adam's moments) of every
 * tensor in getWeights() order, and the number of updates (Adam's t).
 *
 * Bytes, little-endian: "NNOS", u32 format version (1), u32 slots, u32 parameter count,
 * f64 steps, then slots × parameterCount float32 values, slot after slot.
 */
import { EngineError } from "./errors.ts";
import type { Network } from "./network.ts";
import type { Optimizer } from "./optimizers.ts";

const MAGIC = 0x534f4e4e; // "NNOS" read as a little-endian u32
const VERSION = 1;
const HEADER = 24;

export function saveOptimizerState(network: Network, optimizer: Optimizer): Uint8Array {
  const slots = optimizer.slots;
  const count = network.parameterCount;
  const bytes = new Uint8Array(HEADER + slots * count * 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, slots, true);
  view.setUint32(12, count, true);
  view.setFloat64(16, optimizer.steps, true);
  const m = network.memory;
  const P = network.parameterBlock;
  let byte = HEADER;
  for (let s = 0; s < slots; s++) {
    const shift = (2 + s) * P;
    for (const l of network.layers) {
      for (const [at, n] of [
        [l.weights, l.inputs * l.units],
        [l.bias, l.units],
      ] as const) {
        for (let i = 0; i < n; i++, byte += 4) view.setFloat32(byte, m[shift + at + i], true);
      }
    }
  }
  return bytes;
}

/**
 * Puts saved state into the arena (reserved for `optimizer.slots`) and the optimizer's step
 * count; `field` names the state in errors.
 */
export function restoreOptimizerState(
  network: Network,
  optimizer: Optimizer,
  bytes: Uint8Array,
  field: string,
): void {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER) {
    throw new EngineError(field, "is not a saved optimizer state");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== VERSION) {
    throw new EngineError(field, "is not a saved optimizer state (format 1)");
  }
  const slots = view.getUint32(8, true);
  const count = view.getUint32(12, true);
  const steps = view.getFloat64(16, true);
  if (slots !== optimizer.slots) {
    throw new EngineError(
      field,
      `holds ${slots} state slots; ${optimizer.config.name} keeps ${optimizer.slots}: continue with the optimizer it was saved with`,
    );
  }
  if (count !== network.parameterCount || bytes.length !== HEADER + slots * count * 4) {
    throw new EngineError(
      field,
      `is for ${count} parameters; the network has ${network.parameterCount}`,
    );
  }
  const m = network.memory;
  const P = network.parameterBlock;
  let byte = HEADER;
  for (let s = 0; s < slots; s++) {
    const shift = (2 + s) * P;
    for (const l of network.layers) {
      for (const [at, n] of [
        [l.weights, l.inputs * l.units],
        [l.bias, l.units],
      ] as const) {
        for (let i = 0; i < n; i++, byte += 4) m[shift + at + i] = view.getFloat32(byte, true);
      }
    }
  }
  optimizer.resume(steps);
}
