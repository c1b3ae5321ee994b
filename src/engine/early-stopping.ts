/**
 * Early stopping, as in Keras: watch one metric, stop after `patience` epochs without an
 * improvement larger than `minDelta`, optionally put back the weights of the best epoch.
 * Losses improve downwards, accuracies upwards.
 */
import {
  requireBoolean,
  requireInteger,
  requireNumber,
  requireOneOf,
  requireRecord,
} from "./checks.ts";
import { EngineError } from "./errors.ts";
import type { Network } from "./network.ts";
import type { EarlyStoppingSpec } from "./spec.ts";
import type { EpochMetrics } from "./train-types.ts";

const MONITORS = ["loss", "valLoss", "accuracy", "valAccuracy"] as const;

export class EarlyStopping {
  readonly monitor: (typeof MONITORS)[number];
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
  best = Number.NaN;
  bestEpoch: number | undefined;
  private wait = 0;
  private snapshot: Float32Array | undefined;

  constructor(
    spec: unknown,
    context: { validation: boolean; accuracy: boolean },
    field = "earlyStopping",
  ) {
    const s = requireRecord(spec, field) as Partial<EarlyStoppingSpec> & Record<string, unknown>;
    this.monitor =
      s.monitor === undefined
        ? context.validation
          ? "valLoss"
          : "loss"
        : requireOneOf(s.monitor, `${field}.monitor`, MONITORS);
    this.patience = requireInteger(s.patience, `${field}.patience`, 0);
    this.minDelta =
      s.minDelta === undefined ? 0 : requireNumber(s.minDelta, `${field}.minDelta`, { min: 0 });
    this.restoreBestWeights =
      s.restoreBestWeights === undefined
        ? false
        : requireBoolean(s.restoreBestWeights, `${field}.restoreBestWeights`);
    if (this.monitor.startsWith("val") && !context.validation) {
      throw new EngineError(
        `${field}.monitor`,
        `${this.monitor} needs validationSplit or validationData`,
      );
    }
    if (this.monitor.endsWith("ccuracy") && !context.accuracy) {
      throw new EngineError(
        `${field}.monitor`,
        `${this.monitor} is only reported for classification losses (binaryCrossentropy, categoricalCrossentropy, sparseCategoricalCrossentropy)`,
      );
    }
  }

  /** Records an epoch; returns true when training should stop. */
  update(metrics: EpochMetrics, network: Network): boolean {
    const value = metrics[this.monitor];
    const higherIsBetter = this.monitor.endsWith("ccuracy");
    const improved =
      value !== undefined &&
      Number.isFinite(value) &&
      (Number.isNaN(this.best) ||
        (higherIsBetter ? value > this.best + this.minDelta : value < this.best - this.minDelta));
    if (improved) {
      this.best = value;
      this.bestEpoch = metrics.epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.snapshot = network.snapshotParameters();
      return false;
    }
    this.wait++;
    return this.wait >= this.patience;
  }

  /** Puts back the best epoch's weights when asked to; returns whether it did. */
  restore(network: Network): boolean {
    if (!this.restoreBestWeights || !this.snapshot) return false;
    network.restoreParameters(this.snapshot);
    return true;
  }
}
