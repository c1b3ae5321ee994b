/**
 * Validation and normalisation of a NetworkSpec. The normalised spec spells out every default
 * (alpha, initializer), so it alone rebuilds the same network: it is what `network.spec` holds
 * and what the saved architecture carries.
 */
import { ACTIVATION_INFO } from "./activations.ts";
import { describe, requireInteger, requireNumber, requireOneOf, requireRecord } from "./checks.ts";
import { EngineError } from "./errors.ts";
import { ACTIVATIONS, INITIALIZERS, type LayerSpec, type NetworkSpec } from "./spec.ts";

/** Keeps one network's arena well under the 4 GiB a Float32Array (and wasm32) can address. */
export const MAX_PARAMETERS = 100_000_000;
export const MAX_UNITS = 1_000_000;

/** The shape a parameter count needs: the input width and each layer's units. */
export interface NetworkShape {
  inputs: number;
  layers: readonly { units: number }[];
}

/** Weights plus biases of a dense network: Σ (fan-in + 1) × units. */
export function countParameters(network: NetworkShape): number {
  let total = 0;
  let fanIn = network.inputs;
  for (const layer of network.layers) {
    total += (fanIn + 1) * layer.units;
    fanIn = layer.units;
  }
  return total;
}

/** `prefix` is prepended to field paths, e.g. "architecture." when loading a saved network. */
export function normalizeNetworkSpec(spec: unknown, prefix = ""): NetworkSpec {
  const s = requireRecord(spec, prefix === "" ? "spec" : prefix.slice(0, -1));
  const inputs = requireInteger(s.inputs, `${prefix}inputs`, 1, MAX_UNITS);
  if (!Array.isArray(s.layers)) {
    throw new EngineError(
      `${prefix}layers`,
      `must be an array of layers, got ${describe(s.layers)}`,
    );
  }
  const rawLayers: unknown[] = s.layers;
  if (rawLayers.length === 0) {
    throw new EngineError(`${prefix}layers`, "must contain at least one layer (the output layer)");
  }
  const layers: LayerSpec[] = [];
  let fanIn = inputs;
  let parameters = 0;
  rawLayers.forEach((raw: unknown, i: number) => {
    const field = `${prefix}layers[${i}]`;
    const l = requireRecord(raw, field);
    const units = requireInteger(l.units, `${field}.units`, 1, MAX_UNITS);
    const activation = requireOneOf(l.activation, `${field}.activation`, ACTIVATIONS);
    const info = ACTIVATION_INFO[activation];
    if (info.outputOnly && i !== rawLayers.length - 1) {
      throw new EngineError(
        `${field}.activation`,
        `${activation} is only allowed on the output layer (layer ${rawLayers.length - 1})`,
      );
    }
    const layer: LayerSpec = { units, activation };
    if (info.defaultAlpha !== undefined) {
      const alpha =
        l.alpha === undefined
          ? info.defaultAlpha
          : requireNumber(l.alpha, `${field}.alpha`, {
              min: 0,
              minOpen: activation === "elu",
              max: 1_000,
            });
      layer.alpha = alpha;
    } else if (l.alpha !== undefined) {
      throw new EngineError(
        `${field}.alpha`,
        `only leakyRelu and elu take alpha, not ${activation}`,
      );
    }
    layer.initializer =
      l.initializer === undefined
        ? info.defaultInitializer
        : requireOneOf(l.initializer, `${field}.initializer`, INITIALIZERS);
    parameters += (fanIn + 1) * units;
    if (parameters > MAX_PARAMETERS) {
      throw new EngineError(
        `${prefix}layers`,
        `the network would have more than ${MAX_PARAMETERS} parameters (at layer ${i})`,
      );
    }
    fanIn = units;
    layers.push(layer);
  });
  return { inputs, layers };
}
