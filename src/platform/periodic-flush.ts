/**
 * The write loop of a buffer kept in memory and written to Postgres off the request path (drift
 * counts, the prediction log): every `flushMs`, and once more on stop. Flushes run one after
 * another, never two at once.
 */
export abstract class PeriodicFlush {
  readonly #flushMs: number;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(flushMs: number) {
    this.#flushMs = flushMs;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.flush(), this.#flushMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** Writes what was buffered; concurrent calls wait for one another. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.write());
    return this.#flushing;
  }

  /** Takes the buffer and writes it; a failure is the writer's to count and log. */
  protected abstract write(): Promise<void>;
}
