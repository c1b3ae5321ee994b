/**
 * Learning-rate schedules: the rate of every mini-batch step from the optimizer's base rate.
 * Positions count from 0: t is the epoch − 1 (unit epochs) or the step over the whole run
 * (unit steps: (epoch − 1)·stepsPerEpoch + batch); T is the run's length in that unit and W the
 * warmup. A continued run (fit's initialEpoch) counts on from where the first one stopped, so
 * its rates are those of the uninterrupted run.
 *
 *   warmup (t < W)   lr·(t + 1)/W                                    every type
 *   step             lr·rate^⌊(e − W)/everyEpochs⌋,  e = t (epochs)
 *   exponential      lr·rate^(e − W)
 *   cosine           min + (lr − min)·(1 + cos(π·(t − W)/(T − W)))/2   (SGDR without restarts)
 *   oneCycle         PyTorch's OneCycleLR (cosine anneal, two phases): from lr/div up to lr over
 *                    [0, W − 1], then down to lr/(div·finalDiv) at T − 1; no separate warmup
 */
import { requireInteger, requireNumber, requireOneOf, requireRecord } from "./checks.ts";
import { EngineError } from "./errors.ts";

export const SCHEDULES = ["step", "exponential", "cosine", "oneCycle"] as const;

/** The schedule with every default spelled out. */
export type ResolvedSchedule =
  | { type: "step"; rate: number; everyEpochs: number; warmup: number }
  | { type: "exponential"; rate: number; warmup: number }
  | {
      type: "cosine";
      unit: "epochs" | "steps";
      warmup: number;
      minLearningRate: number;
    }
  | {
      type: "oneCycle";
      unit: "epochs" | "steps";
      /** undefined: 30% of the run. */
      warmup?: number;
      divFactor: number;
      finalDivFactor: number;
    };

export function resolveSchedule(value: unknown, field: string): ResolvedSchedule {
  const d = requireRecord(value, field);
  const type = requireOneOf(d.type, `${field}.type`, SCHEDULES);
  const warmup = (): number =>
    d.warmup === undefined ? 0 : requireInteger(d.warmup, `${field}.warmup`, 0, 1_000_000_000);
  const unit = (): "epochs" | "steps" =>
    d.unit === undefined ? "epochs" : requireOneOf(d.unit, `${field}.unit`, ["epochs", "steps"]);
  const rate = (): number =>
    requireNumber(d.rate, `${field}.rate`, { min: 0, minOpen: true, max: 1 });
  switch (type) {
    case "step":
      return {
        type,
        rate: rate(),
        everyEpochs: requireInteger(d.everyEpochs, `${field}.everyEpochs`, 1),
        warmup: warmup(),
      };
    case "exponential":
      return { type, rate: rate(), warmup: warmup() };
    case "cosine":
      return {
        type,
        unit: unit(),
        warmup: warmup(),
        minLearningRate:
          d.minLearningRate === undefined
            ? 0
            : requireNumber(d.minLearningRate, `${field}.minLearningRate`, { min: 0 }),
      };
    case "oneCycle": {
      const s: ResolvedSchedule = {
        type,
        unit: unit(),
        divFactor:
          d.divFactor === undefined
            ? 25
            : requireNumber(d.divFactor, `${field}.divFactor`, { min: 1 }),
        finalDivFactor:
          d.finalDivFactor === undefined
            ? 1e4
            : requireNumber(d.finalDivFactor, `${field}.finalDivFactor`, { min: 1 }),
      };
      if (d.warmup !== undefined) s.warmup = warmup();
      return s;
    }
  }
}

/** The run's length in the schedule's unit. */
export function scheduleLength(s: ResolvedSchedule, epochs: number, stepsPerEpoch: number): number {
  return "unit" in s && s.unit === "steps" ? epochs * stepsPerEpoch : epochs;
}

/** oneCycle's rising phase: given, or 30% of the run (at least 1). */
function oneCycleWarmup(s: { warmup?: number }, T: number): number {
  return s.warmup ?? Math.max(1, Math.round(0.3 * T));
}

/** Rejects a warmup that does not end before the run does (`field` names the schedule). */
export function checkScheduleFits(
  s: ResolvedSchedule,
  epochs: number,
  stepsPerEpoch: number,
  field: string,
): void {
  const T = scheduleLength(s, epochs, stepsPerEpoch);
  const W = s.type === "oneCycle" ? oneCycleWarmup(s, T) : s.warmup;
  const unit = "unit" in s ? s.unit : "epochs";
  if (W >= T && (W > 0 || s.type === "oneCycle")) {
    const steps = unit === "steps" ? ` (${epochs} epochs of ${stepsPerEpoch} steps)` : "";
    throw new EngineError(
      `${field}.warmup`,
      `is ${W} ${unit}, but the run is ${T} ${unit}${steps}: the warmup must end before the run does`,
    );
  }
}

/**
 * The rate of the step `batch` (0-based) of the 1-based `epoch`, in a run of `epochs` epochs of
 * `stepsPerEpoch` steps. Powers by repeated multiplication, exact on every machine.
 */
export function scheduledRate(
  lr: number,
  s: ResolvedSchedule | undefined,
  epoch: number,
  batch: number,
  stepsPerEpoch: number,
  epochs: number,
): number {
  if (!s) return lr;
  const steps = "unit" in s && s.unit === "steps";
  const t = steps ? (epoch - 1) * stepsPerEpoch + batch : epoch - 1;
  const T = scheduleLength(s, epochs, stepsPerEpoch);
  if (s.type === "oneCycle") return oneCycle(lr, s, t, T);
  const W = s.warmup;
  if (t < W) return (lr * (t + 1)) / W;
  switch (s.type) {
    case "step":
    case "exponential": {
      const e = t - W;
      const k = s.type === "step" ? Math.floor(e / s.everyEpochs) : e;
      let rate = lr;
      for (let i = 0; i < k; i++) rate *= s.rate;
      return rate;
    }
    case "cosine": {
      const min = s.minLearningRate;
      return min + ((lr - min) * (1 + Math.cos((Math.PI * (t - W)) / (T - W)))) / 2;
    }
  }
}

function oneCycle(
  lr: number,
  s: Extract<ResolvedSchedule, { type: "oneCycle" }>,
  t: number,
  T: number,
): number {
  const initial = lr / s.divFactor;
  const min = initial / s.finalDivFactor;
  const end1 = oneCycleWarmup(s, T) - 1;
  const end2 = T - 1;
  const anneal = (from: number, to: number, pct: number) =>
    to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1);
  if (t <= end1) return end1 <= 0 ? lr : anneal(initial, lr, t / end1);
  return anneal(lr, min, (t - end1) / (end2 - end1));
}
