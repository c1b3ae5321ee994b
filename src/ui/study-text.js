// A study's figures in words, shared by the list, the study page and the new-study form.
import { formatNumber, metricLabel } from "./dom.js";

/** @typedef {import("./types.js").Study} Study */
/** @typedef {import("./types.js").StudySummary} StudySummary */
/** @typedef {import("./types.js").TrialParams} TrialParams */

/** Trial statuses that will not change again. */
export const TRIAL_ENDED = new Set(["pruned", "completed", "failed", "cancelled"]);
/** Trials drawn faded on the chart: stopped before the top rung. */
export const TRIAL_STOPPED = new Set(["pruned", "failed", "cancelled"]);

/** @param {string} metric */
export function lowerIsBetter(metric) {
  return !metric.toLowerCase().endsWith("accuracy");
}

/**
 * The objective's name: a regressor's MAE is in the standardised units every trial learnt
 * (its own training rows' scale: no one factor converts all trials to the target's units).
 * @param {string} metric
 */
export function objectiveLabel(metric) {
  return /mae$/i.test(metric) ? `${metricLabel(metric)} (standardised)` : metricLabel(metric);
}

/** "val loss (lower is better)" @param {string} metric */
export function objectiveText(metric) {
  return `${objectiveLabel(metric)} (${lowerIsBetter(metric) ? "lower" : "higher"} is better)`;
}

/**
 * Trials that ended (pruned, completed, failed, cancelled) of the budget's.
 * @param {Record<string, number>} counts by status
 * @param {number} total
 */
export function trialsDoneText(counts, total) {
  let done = 0;
  for (const [status, n] of Object.entries(counts)) if (TRIAL_ENDED.has(status)) done += n;
  return `${done} of ${total}`;
}

/** The study's trial counts by status, as the list's StudySummary carries them. @param {Study} study */
export function countTrials(study) {
  /** @type {Record<string, number>} */
  const counts = {};
  for (const t of study.trials) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return counts;
}

/** "84 of 243 (35 %)": epochs trained against every trial run to maxEpochs. @param {StudySummary | Study} study */
export function epochsText(study) {
  const { epochsSpent, epochsIfExhaustive } = study;
  const share = epochsIfExhaustive > 0 ? Math.round((100 * epochsSpent) / epochsIfExhaustive) : 0;
  return `${epochsSpent} of ${epochsIfExhaustive} (${share} %)`;
}

/** "0.3981, trial 4" or "none yet". @param {StudySummary | Study} study */
export function bestText(study) {
  if (!study.best) return "none yet";
  return `${formatNumber(study.best.metric)}, trial ${study.best.trial}`;
}

/** @param {StudySummary | Study} study */
export function studyTitle(study) {
  return study.name ?? `${study.model} search`;
}

/** @param {number} value */
function short(value) {
  return String(Number(value.toPrecision(2)));
}

/**
 * One trial's sampled values in a line: "32-16 relu · lr 0.0031 · dropout 0.12 · batch 32".
 * @param {TrialParams} p
 */
export function paramsText(p) {
  const parts = [];
  const net = [p.layers?.join("-"), p.activation].filter(Boolean).join(" ");
  if (net) parts.push(net);
  if (p.optimizer) parts.push(p.optimizer);
  if (p.learningRate !== undefined) parts.push(`lr ${short(p.learningRate)}`);
  if (p.dropout !== undefined) parts.push(`dropout ${short(p.dropout)}`);
  if (p.batchSize !== undefined) parts.push(`batch ${p.batchSize}`);
  if (p.weightDecay !== undefined) parts.push(`decay ${short(p.weightDecay)}`);
  if (p.labelSmoothing !== undefined) parts.push(`smoothing ${short(p.labelSmoothing)}`);
  return parts.join(" · ");
}

/**
 * The epochs a trial is judged at, for the form's preview before anything is sent (the server's
 * own list, from rungs.ts, is the study's `rungs`; the browser test holds the two equal).
 * @param {number} minEpochs
 * @param {number} maxEpochs
 * @param {number} eta
 * @param {string} scheduler
 * @returns {number[] | null} null when the budget does not make rungs
 */
export function previewRungs(minEpochs, maxEpochs, eta, scheduler) {
  const whole = [minEpochs, maxEpochs, eta].every((n) => Number.isInteger(n) && n >= 1);
  if (!whole || minEpochs > maxEpochs || eta < 2) return null;
  if (scheduler === "random") return [maxEpochs];
  const rungs = [];
  for (let epochs = minEpochs; epochs < maxEpochs; epochs *= eta) rungs.push(epochs);
  rungs.push(maxEpochs);
  return rungs;
}

/**
 * "1 epoch", "9 epochs".
 * @param {number | null | undefined} n
 */
export function epochCount(n) {
  return n === 1 ? "1 epoch" : `${n ?? 0} epochs`;
}
