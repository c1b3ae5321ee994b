/**
 * Writes a running job's epochs as they arrive, in order, coalescing whatever arrived during
 * the previous write into the next one: a network whose epochs take a millisecond must not wait
 * on one database round trip per epoch, and a slow database must not fall ever further behind.
 */
export interface EpochWriterOptions<T extends { epoch: number }> {
  /** Stores epochs in order; false when the job is no longer ours. */
  write(epochs: T[]): Promise<boolean>;
  /** Asked before every write: once it says stop, the backlog is dropped. */
  shouldStop(): boolean;
  onLost(): void;
  onError(error: unknown): void;
}

export interface EpochWriter<T extends { epoch: number }> {
  add(epoch: T): void;
  /** Resolves once everything added so far is written (or dropped). */
  drain(): Promise<void>;
}

export function createEpochWriter<T extends { epoch: number }>(
  options: EpochWriterOptions<T>,
): EpochWriter<T> {
  let pending: T[] = [];
  /** The last epoch taken in: the thread's messages and its final history repeat epochs. */
  let accepted = 0;
  let flushing: Promise<void> | undefined;
  let lost = false;
  const stopped = () => lost || options.shouldStop();

  async function flush(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      if (stopped()) return;
      try {
        if (!(await options.write(batch))) {
          lost = true;
          options.onLost();
          return;
        }
      } catch (error) {
        // Epoch rows are progress reports: the job's outcome is written apart, so one failed
        // write is logged and the next batch goes on.
        options.onError(error);
      }
    }
  }

  function start(): void {
    flushing ??= flush().finally(() => {
      flushing = undefined;
      if (pending.length > 0 && !stopped()) start();
    });
  }

  return {
    add(epoch) {
      if (epoch.epoch <= accepted || lost) return;
      accepted = epoch.epoch;
      pending.push(epoch);
      start();
    },
    async drain() {
      while (flushing) await flushing;
    },
  };
}
