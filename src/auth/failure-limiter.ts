/**
 * Failed authentications per client address, in fixed one-minute windows: past the limit, the
 * address is refused (429) before its keys are looked at, so guessing keys, or flooding with
 * random ones, costs the server nothing more until the window ends. Only failures count: a
 * client sending valid keys is never limited here (the per-key rate limit is for that).
 */
import { AppError } from "../platform/errors.ts";

const WINDOW_MS = 60_000;
/** Addresses tracked at most; past it the windows start over (a flood of spoofed addresses). */
const MAX_TRACKED = 100_000;

export class AuthFailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();
  private readonly maxPerMinute: number;
  private readonly now: () => number;

  /** maxPerMinute 0 turns the limiter off. */
  constructor(maxPerMinute: number, now: () => number = Date.now) {
    this.maxPerMinute = maxPerMinute;
    this.now = now;
  }

  /** Throws TOO_MANY_REQUESTS (with retryAfterSeconds) while the address is over its limit. */
  check(address: string): void {
    if (this.maxPerMinute === 0) return;
    const window = this.current(address);
    if (window && window.failures >= this.maxPerMinute) {
      const retryAfterSeconds = Math.max(
        1,
        Math.ceil((window.start + WINDOW_MS - this.now()) / 1000),
      );
      throw Object.assign(
        new AppError(
          "TOO_MANY_REQUESTS",
          `Too many failed authentications from this address (${this.maxPerMinute} per minute, AUTH_MAX_FAILURES_PER_MINUTE); retry in ${retryAfterSeconds} s.`,
        ),
        { retryAfterSeconds },
      );
    }
  }

  failed(address: string): void {
    if (this.maxPerMinute === 0) return;
    let window = this.current(address);
    if (!window) {
      if (this.windows.size >= MAX_TRACKED) this.windows.clear();
      window = { start: this.now(), failures: 0 };
      this.windows.set(address, window);
    }
    window.failures++;
  }

  private current(address: string) {
    const window = this.windows.get(address);
    if (window && this.now() - window.start >= WINDOW_MS) {
      this.windows.delete(address);
      return undefined;
    }
    return window;
  }
}

/** The retry delay a limiter's refusal carries, if it is one. */
export function retryAfterOf(error: unknown): number | undefined {
  const value = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof value === "number" ? value : undefined;
}
