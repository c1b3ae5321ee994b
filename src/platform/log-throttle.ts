/**
 * Repeated warnings, said once per interval: a 29 s database outage wrote 286 identical lines.
 * The first line of a kind goes out at once; the repeats within `intervalMs` are counted, and
 * the next line that goes out says how many were held back (`repeated`).
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; held: number }>();
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(intervalMs = 10_000, now: () => number = Date.now) {
    this.intervalMs = intervalMs;
    this.now = now;
  }

  /** Undefined: hold this line back. Otherwise log it, with `repeated` lines held since. */
  admit(key: string): { repeated: number } | undefined {
    const now = this.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.held++;
      return undefined;
    }
    if (this.last.size > 1_000) this.last.clear();
    this.last.set(key, { at: now, held: 0 });
    return { repeated: seen?.held ?? 0 };
  }
}
