/**
 * Whether the next batch of two-thread training runs on both threads or on the main thread alone
 * (ParallelTrainer with the native kernels). Both give the same bits, so the choice is only about
 * time: when other processes hold the second core, the helper thread gets a slice now and then,
 * and every batch that waits for it at a barrier loses more than the helper adds. So this keeps
 * each mode's recent time per row (an exponential average) and runs the faster one, trying the
 * other for a few batches every PROBE_EVERY batches to notice when the load changes.
 */

/** Batches between two tries of the mode not in use. */
const PROBE_EVERY = 40;
/** Where in each PROBE_EVERY batches the try starts (early, so the first comes soon). */
const PROBE_AT = 4;
/** Batches of a try; the first is not timed (the helper may have to wake up first). */
const PROBE_BATCHES = 4;
/** How much faster (per row) the main thread alone must be to be chosen: timings are noisy. */
const MARGIN = 0.95;
/** Weight of the newest batch in a mode's average. */
const WEIGHT = 0.25;

export class ThreadChoice {
  /** µs per row of each mode (0: both threads, 1: the main thread alone); 0 until timed. */
  private readonly perRow = [0, 0];
  private preferred = 0;
  private batch = 0;
  private current = 0;
  /** Batches run in the current mode since it was last switched. */
  private run = 0;

  /** True when the next batch should run on the main thread alone. */
  alone(): boolean {
    const phase = this.batch % PROBE_EVERY;
    const trying = phase >= PROBE_AT && phase < PROBE_AT + PROBE_BATCHES;
    if (!trying) this.preferred = this.faster();
    const mode = trying ? 1 - this.preferred : this.preferred;
    if (mode !== this.current) this.run = 0;
    this.current = mode;
    return mode === 1;
  }

  /** The batch just run (in the mode alone() said) took `ms` for `rows` rows. */
  record(ms: number, rows: number): void {
    this.batch++;
    this.run++;
    const before = this.perRow[this.current]!;
    if (this.run === 1 && before > 0) return;
    // One batch stalled by a preemption (of either thread) moves the average by at most half of
    // it: a mode is left for a sustained slowdown, not for one slow batch.
    const us = before === 0 ? (ms * 1000) / rows : Math.min((ms * 1000) / rows, 1.5 * before);
    this.perRow[this.current] = before === 0 ? us : before + WEIGHT * (us - before);
  }

  /** The mode with the lower time per row (both threads until the other is timed). */
  private faster(): number {
    const [both, alone] = this.perRow as [number, number];
    return alone > 0 && alone < both * MARGIN ? 1 : 0;
  }
}
