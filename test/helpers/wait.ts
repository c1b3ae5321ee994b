/**
 * Waiting in tests, once: for a condition to hold, never for a fixed time in which something
 * should not happen (a signal or a controllable clock says that).
 */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` every `intervalMs` until it returns something other than undefined, and returns
 * that; throws with `what` when the deadline passes.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 20_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Polls a synchronous condition until it holds (every 10 ms, 10 s at most by default). */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  await waitFor("a condition", () => (condition() ? true : undefined), {
    timeoutMs,
    intervalMs: 10,
  });
}
