/**
 * Saving and loading: the architecture as versioned JSON, the parameters as one little-endian
 * Float32 buffer, layer after layer, each layer's kernel W [inputs × units] row-major then its
 * bias [units] (getWeights() order). Loading trusts nothing: format, version, every layer field,
 * the byte length and every value are checked, with the field named in the error.
 */
import { describe, requireRecord } from "./checks.ts";
import { EngineError } from "./errors.ts";
import type { KernelRequest } from "./kernel-set.ts";
import { Network } from "./network.ts";
import { countParameters, normalizeNetworkSpec } from "./network-spec.ts";
import type { LayerSpec, NetworkSpec } from "./spec.ts";

export const NETWORK_FORMAT = "nnserve.network";
export const NETWORK_FORMAT_VERSION = 1;

export interface ArchitectureJson {
  format: typeof NETWORK_FORMAT;
  version: typeof NETWORK_FORMAT_VERSION;
  inputs: number;
  layers: LayerSpec[];
  /** Number of Float32 values in the weights buffer (optional when loading; checked if given). */
  parameterCount?: number;
}

export interface SavedNetwork {
  architecture: ArchitectureJson;
  weights: Uint8Array;
}

export function saveNetwork(network: Network): SavedNetwork {
  if (!(network instanceof Network)) {
    throw new EngineError("network", `must be a Network, got ${describe(network)}`);
  }
  const spec = structuredClone(network.spec) as { inputs: number; layers: LayerSpec[] };
  const architecture: ArchitectureJson = {
    format: NETWORK_FORMAT,
    version: NETWORK_FORMAT_VERSION,
    inputs: spec.inputs,
    layers: spec.layers,
    parameterCount: network.parameterCount,
  };
  const weights = new Uint8Array(network.parameterCount * 4);
  const view = new DataView(weights.buffer);
  let byte = 0;
  for (const tensor of network.getWeights()) {
    for (let i = 0; i < tensor.length; i++, byte += 4) view.setFloat32(byte, tensor[i], true);
  }
  return { architecture, weights };
}

/**
 * The checks of a saved architecture that need no memory: format, version, every layer field
 * and the parameter count if given. Returns the normalised spec and its parameter count, so a
 * caller can apply its own size limit before anything is allocated (loadNetwork runs it first).
 */
export function checkArchitecture(architecture: unknown): {
  spec: NetworkSpec;
  parameterCount: number;
} {
  const a = requireRecord(architecture, "architecture");
  if (a.format !== NETWORK_FORMAT) {
    throw new EngineError(
      "architecture.format",
      `must be "${NETWORK_FORMAT}", got ${describe(a.format)}`,
    );
  }
  if (a.version !== NETWORK_FORMAT_VERSION) {
    throw new EngineError(
      "architecture.version",
      `unsupported version ${describe(a.version)}; this engine reads version ${NETWORK_FORMAT_VERSION}`,
    );
  }
  const spec = normalizeNetworkSpec(a, "architecture.");
  const count = countParameters(spec);
  if (a.parameterCount !== undefined && a.parameterCount !== count) {
    throw new EngineError(
      "architecture.parameterCount",
      `is ${describe(a.parameterCount)}, but the layers describe ${count} parameters`,
    );
  }
  return { spec, parameterCount: count };
}

/** The weights buffer of `parameterCount` little-endian float32 values, by its length. */
export function checkWeightBytes(weights: unknown, parameterCount: number): Uint8Array {
  if (!(weights instanceof Uint8Array)) {
    throw new EngineError(
      "weights",
      `must be a Uint8Array of little-endian float32, got ${describe(weights)}`,
    );
  }
  if (weights.byteLength !== parameterCount * 4) {
    throw new EngineError(
      "weights",
      `must be ${parameterCount * 4} bytes (${parameterCount} float32 parameters for this architecture), got ${weights.byteLength}`,
    );
  }
  return weights;
}

export function loadNetwork(
  architecture: unknown,
  weights: Uint8Array,
  options: { kernels?: KernelRequest } = {},
): Network {
  const { spec, parameterCount } = checkArchitecture(architecture);
  checkWeightBytes(weights, parameterCount);
  const network = new Network(spec, options);
  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  const m = network.memory;
  let byte = 0;
  network.layers.forEach((l, i) => {
    const parts: [string, number, number][] = [
      ["kernel", l.weights, l.inputs * l.units],
      ["bias", l.bias, l.units],
    ];
    for (const [name, offset, size] of parts) {
      for (let k = 0; k < size; k++, byte += 4) {
        const v = view.getFloat32(byte, true);
        if (!Number.isFinite(v)) {
          throw new EngineError(
            "weights",
            `layer ${i} ${name} value ${k} (byte ${byte}) is not finite: ${v}`,
          );
        }
        m[offset + k] = v;
      }
    }
  });
  return network;
}
