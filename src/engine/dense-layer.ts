/**
 * A dense layer: `units` neurons, each a weighted sum of all the layer's inputs plus a bias,
 * passed through the activation. The layer owns no memory; it holds offsets into its
 * network's arena:
 *
 *   weights  W [inputs × units]  row-major (neuron j's weights are column j)
 *   bias     b [units]
 *   output   A [batch × units]   f(X·W + b) for the current batch
 *   delta    dZ [batch × units]  dLoss/dZ during backpropagation
 *
 * Gradients and optimizer state mirror the parameters at fixed distances (see network.ts).
 */
import { ACTIVATION_INFO } from "./activations.ts";
import type { ArenaPlanner } from "./arena.ts";
import type { ActivationName, InitializerName, LayerSpec } from "./spec.ts";

export interface DenseLayerArgs {
  inputs: number;
  units: number;
  activation: ActivationName;
  alpha?: number;
  initializer: InitializerName;
}

export class DenseLayer {
  readonly inputs: number;
  readonly units: number;
  readonly activation: ActivationName;
  readonly alpha: number;
  readonly initializer: InitializerName;
  /** Kernel code of the activation. */
  readonly act: number;
  readonly weights: number;
  readonly bias: number;
  output = 0;
  delta = 0;

  /** Takes the parameter offsets from `planner`, which must be laying out the parameters. */
  constructor(args: DenseLayerArgs, planner: ArenaPlanner) {
    this.inputs = args.inputs;
    this.units = args.units;
    this.activation = args.activation;
    this.alpha = args.alpha ?? 0;
    this.initializer = args.initializer;
    this.act = ACTIVATION_INFO[args.activation].code;
    this.weights = planner.take(args.inputs * args.units);
    this.bias = planner.take(args.units);
  }

  get parameterCount(): number {
    return (this.inputs + 1) * this.units;
  }

  getConfig(): LayerSpec {
    const config: LayerSpec = { units: this.units, activation: this.activation };
    if (ACTIVATION_INFO[this.activation].defaultAlpha !== undefined) config.alpha = this.alpha;
    config.initializer = this.initializer;
    return config;
  }
}
