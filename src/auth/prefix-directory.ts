/**
 * Which key prefixes exist, kept in memory so that a key with an unknown prefix costs no query
 * of its own: a flood of random keys (3,000 requests cost 2,175 transactions before) turns into
 * at most one read of the prefixes per `minIntervalMs`, shared by every caller waiting for it.
 * A caller never joins a read that began before it asked, so a key created a moment ago on
 * another replica is still found, only up to `minIntervalMs` later.
 */
export class PrefixDirectory {
  private prefixes = new Set<string>();
  private lastReadAt = Number.NEGATIVE_INFINITY;
  /** The next read, not yet begun: callers who ask now share it. */
  private next: Promise<Set<string>> | undefined;
  /** The read under way, for the next one to follow, never overlap. */
  private reading: Promise<unknown> = Promise.resolve();
  private readonly read: () => Promise<string[]>;
  private readonly minIntervalMs: number;

  constructor(read: () => Promise<string[]>, minIntervalMs = 250) {
    this.read = read;
    this.minIntervalMs = minIntervalMs;
  }

  async has(prefix: string): Promise<boolean> {
    if (this.prefixes.has(prefix)) return true;
    return (await this.reread()).has(prefix);
  }

  /** A key this process created. */
  add(prefix: string): void {
    this.prefixes.add(prefix);
  }

  private reread(): Promise<Set<string>> {
    this.next ??= (async () => {
      await this.reading.catch(() => {});
      const wait = this.lastReadAt + this.minIntervalMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.next = undefined;
      this.lastReadAt = Date.now();
      const read = this.read();
      this.reading = read;
      this.prefixes = new Set(await read);
      return this.prefixes;
    })();
    return this.next;
  }
}
