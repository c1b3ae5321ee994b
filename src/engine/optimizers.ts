/**
 * Optimizers by name, with PyTorch's defaults and update rules (torch.optim.SGD, RMSprop, Adam):
 * the same settings learn the same way. The update loops are in kernels.ts; this file resolves
 * the hyper-parameters and walks the parameter tensors. Weight decay applies to weights only,
 * never to biases.
 */
import { requireBoolean, requireNumber, requireOneOf, requireRecord } from "./checks.ts";
import { EngineError } from "./errors.ts";
import type { KernelSet } from "./kernel-set.ts";
import type { Network } from "./network.ts";
import { type ResolvedSchedule, resolveSchedule } from "./schedules.ts";
import { OPTIMIZERS, type OptimizerName } from "./spec.ts";

/**
 * The one table of learning-rate defaults, read by resolveOptimizer and by the train request
 * schema (so the API and the engine cannot disagree). PyTorch 2's: torch.optim.Adam lr=1e-3,
 * RMSprop lr=1e-2 (with alpha, our rho, 0.99), and SGD lr=1e-3 since torch 2.2
 * (pytorch/pytorch#114467; before it SGD had no default). `momentum` is SGD with momentum 0.9,
 * so it takes SGD's rate.
 */
export const DEFAULT_LEARNING_RATES: Readonly<Record<OptimizerName, number>> = {
  sgd: 0.001,
  momentum: 0.001,
  rmsprop: 0.01,
  adam: 0.001,
  adamw: 0.001,
};

/** The optimizer a request gets when it names none. */
export const DEFAULT_OPTIMIZER = "adam" satisfies OptimizerName;

/** Every hyper-parameter spelled out. */
export interface ResolvedOptimizer {
  name: OptimizerName;
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  rho: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  clipNorm?: number;
  decay?: ResolvedSchedule;
}

export function resolveOptimizer(spec: unknown, field = "optimizer"): ResolvedOptimizer {
  const s = requireRecord(spec, field);
  const name = requireOneOf(s.name, `${field}.name`, OPTIMIZERS);
  const num = (key: string, fallback: number, range: Parameters<typeof requireNumber>[2]) =>
    s[key] === undefined ? fallback : requireNumber(s[key], `${field}.${key}`, range);
  const unit = { min: 0, max: 1, maxOpen: true };
  const resolved: ResolvedOptimizer = {
    name,
    learningRate: num("learningRate", DEFAULT_LEARNING_RATES[name], { min: 0, minOpen: true }),
    momentum: num("momentum", name === "momentum" ? 0.9 : 0, unit),
    nesterov: s.nesterov === undefined ? false : requireBoolean(s.nesterov, `${field}.nesterov`),
    rho: num("rho", 0.99, unit),
    beta1: num("beta1", 0.9, unit),
    beta2: num("beta2", 0.999, unit),
    epsilon: num("epsilon", 1e-8, { min: 0, minOpen: true }),
    // AdamW's decoupled decay defaults as PyTorch's (0.01); the L2 penalties default to none.
    weightDecay: num("weightDecay", name === "adamw" ? 0.01 : 0, { min: 0 }),
  };
  if (s.clipNorm !== undefined) {
    resolved.clipNorm = requireNumber(s.clipNorm, `${field}.clipNorm`, { min: 0, minOpen: true });
  }
  if (
    resolved.nesterov &&
    (resolved.momentum === 0 || name === "rmsprop" || name === "adam" || name === "adamw")
  ) {
    throw new EngineError(
      `${field}.nesterov`,
      "needs the momentum optimizer (or sgd with momentum > 0)",
    );
  }
  if (s.decay !== undefined) resolved.decay = resolveSchedule(s.decay, `${field}.decay`);
  return resolved;
}

export class Optimizer {
  readonly config: ResolvedOptimizer;
  /** State blocks the arena must hold (network.reserve(…, slots)). */
  readonly slots: number;
  private beta1Power = 1;
  private beta2Power = 1;
  /** Updates since reset (Adam's t): what a continued run restores its bias corrections from. */
  steps = 0;

  constructor(config: ResolvedOptimizer) {
    this.config = config;
    this.slots = { sgd: config.momentum > 0 ? 1 : 0, momentum: 1, rmsprop: 1, adam: 2, adamw: 2 }[
      config.name
    ];
  }

  /** Zeroes the state blocks (a fresh start, as a new torch optimizer). */
  reset(network: Network): void {
    const P = network.parameterBlock;
    network.memory.fill(0, 2 * P, (2 + network.slots) * P);
    this.beta1Power = 1;
    this.beta2Power = 1;
    this.steps = 0;
  }

  /**
   * Continues from `steps` updates: the powers are rebuilt by the same repeated
   * multiplications, so they equal the uninterrupted run's bit for bit.
   */
  resume(steps: number): void {
    this.beta1Power = 1;
    this.beta2Power = 1;
    this.steps = 0;
    for (let i = 0; i < steps; i++) this.advance();
  }

  /** One update of every parameter from the gradients in the arena. */
  step(network: Network, lr: number): void {
    this.advance();
    this.stepRange(network, lr, 0, network.parameterBlock, this.correction1, this.correction2);
  }

  /** Counts one more step in Adam's bias corrections (step() does it; split updates call it once). */
  advance(): void {
    this.steps++;
    this.beta1Power *= this.config.beta1;
    this.beta2Power *= this.config.beta2;
  }

  /** Adam's bias corrections 1 − β1ᵗ and 1 − β2ᵗ after advance() (unused by the other rules). */
  get correction1(): number {
    return 1 - this.beta1Power;
  }

  get correction2(): number {
    return 1 - this.beta2Power;
  }

  /**
   * The update of the parameters in [lo, hi) of the parameter block only (each tensor cut to the
   * range), with the given bias corrections: how two threads split one update. `lo` and `hi` must
   * be multiples of 4 floats (or hi the block's end), so every tensor's cut pieces keep the
   * vector/tail boundaries of the whole tensor and the pieces write exactly what one call would.
   */
  stepRange(network: Network, lr: number, lo: number, hi: number, bc1: number, bc2: number): void {
    const wd = this.config.weightDecay;
    const m = network.memory;
    const P = network.parameterBlock;
    const k = network.kernels;
    for (const l of network.layers) {
      this.updateCut(k, m, l.weights, l.inputs * l.units, P, lr, wd, lo, hi, bc1, bc2);
      this.updateCut(k, m, l.bias, l.units, P, lr, 0, lo, hi, bc1, bc2);
    }
  }

  private updateCut(
    k: KernelSet,
    m: Float32Array,
    p: number,
    n: number,
    P: number,
    lr: number,
    wd: number,
    lo: number,
    hi: number,
    bc1: number,
    bc2: number,
  ): void {
    const from = Math.max(p, lo);
    const to = Math.min(p + n, hi);
    if (to > from) this.update(k, m, from, to - from, P, lr, wd, bc1, bc2);
  }

  private update(
    k: KernelSet,
    m: Float32Array,
    p: number,
    n: number,
    P: number,
    lr: number,
    wd: number,
    bc1: number,
    bc2: number,
  ): void {
    const c = this.config;
    switch (c.name) {
      case "sgd":
        if (c.momentum === 0) k.sgdUpdate(m, p, p + P, n, lr, wd);
        else k.momentumUpdate(m, p, p + P, p + 2 * P, n, lr, c.momentum, wd, c.nesterov);
        return;
      case "momentum":
        k.momentumUpdate(m, p, p + P, p + 2 * P, n, lr, c.momentum, wd, c.nesterov);
        return;
      case "rmsprop":
        k.rmspropUpdate(m, p, p + P, p + 2 * P, n, lr, c.rho, c.epsilon, wd);
        return;
      case "adamw":
        // Decoupled: the weights shrink before the step, and Adam sees the bare gradient.
        if (wd > 0) k.scaleInPlace(m, p, n, 1 - lr * wd);
        k.adamUpdate(
          m,
          p,
          p + P,
          p + 2 * P,
          p + 3 * P,
          n,
          lr,
          c.beta1,
          c.beta2,
          c.epsilon,
          0,
          bc1,
          bc2,
        );
        return;
      case "adam":
        k.adamUpdate(
          m,
          p,
          p + P,
          p + 2 * P,
          p + 3 * P,
          n,
          lr,
          c.beta1,
          c.beta2,
          c.epsilon,
          wd,
          bc1,
          bc2,
        );
        return;
    }
  }
}
