/**
 * When a serving process that died is started again. Backoff, not a hot loop: a process that
 * dies at start (a bad database, a port taken) would otherwise fork and fail hundreds of times a
 * second and flood the log. One that had served for a while died of something passing, so it is
 * replaced after the shortest delay and its slot starts counting again.
 */

/** First restart delay; each further failure in a row doubles it, up to MAX_DELAY_MS. */
export const FIRST_DELAY_MS = 500;
export const MAX_DELAY_MS = 30_000;
/** A process that served this long before dying resets its slot's count of failures. */
export const HEALTHY_AFTER_MS = 30_000;
/** Replacements in a row that die before they are ready: then the primary gives up (exit 1). */
export const MAX_FAILED_STARTS = 5;

export interface SlotHistory {
  /** Deaths in a row, none of them after HEALTHY_AFTER_MS of serving. */
  failures: number;
  /** Replacements in a row that died before they were ready. */
  failedStarts: number;
}

export type RestartDecision =
  | { action: "restart"; delayMs: number; history: SlotHistory }
  | { action: "give-up"; history: SlotHistory };

/** What to do after a slot's process died, having been ready for `servedMs` (undefined: never). */
export function afterDeath(history: SlotHistory, servedMs: number | undefined): RestartDecision {
  const healthy = servedMs !== undefined && servedMs >= HEALTHY_AFTER_MS;
  const next: SlotHistory = {
    failures: healthy ? 1 : history.failures + 1,
    failedStarts: servedMs === undefined ? history.failedStarts + 1 : 0,
  };
  if (next.failedStarts >= MAX_FAILED_STARTS) return { action: "give-up", history: next };
  const delayMs = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (next.failures - 1));
  return { action: "restart", delayMs, history: next };
}
