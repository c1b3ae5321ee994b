/**
 * Dynamic batching for one model version: prediction requests that arrive close together are
 * run as one forward pass, and each caller gets back exactly its own rows, in order.
 *
 * The policy (Triton's max_batch_size and max_queue_delay_microseconds, made adaptive):
 *   - at low load a request runs at once, with no window: when it is the first of its event-loop
 *     turn, the turn before had at most one, and nothing of this version is running or waiting;
 *   - otherwise a request opens a window; requests joining it are appended row-major;
 *   - the window is flushed when its rows reach `maxBatchSize`, or at the end of the current
 *     event-loop turn (setImmediate) when no batch of this version is running: everything the
 *     loop read in one poll phase goes together, and a lone request waits only one turn;
 *   - while a batch is running (in the worker pool), the window keeps filling and is flushed
 *     the moment the batch ends ("batch while busy"), or when `maxDelayMs` has passed since it
 *     opened, whichever comes first;
 *   - a request is never split: one larger than the room left flushes the window first, and
 *     one of `maxBatchSize` rows or more runs on its own.
 * `maxDelayMs = 0` or `maxBatchSize <= 1` turns coalescing off: every request runs alone.
 */

/** Runs a forward pass: [rows × width] in, [rows × units] out. */
export type BatchRun = (inputs: Float32Array, rows: number) => Promise<Float32Array> | Float32Array;

export interface BatchObserver {
  /** One forward pass of `rows` rows that served `requests` requests. */
  batch?(rows: number, requests: number): void;
  /** Seconds one request waited between arriving and its batch starting. */
  queued?(seconds: number): void;
}

export interface BatcherOptions {
  width: number;
  units: number;
  /** Most rows in one forward pass. */
  maxBatchSize: number;
  /** Most time a request is held waiting for others, in milliseconds (fractions allowed). */
  maxDelayMs: number;
  run: BatchRun;
  observer?: BatchObserver;
}

interface Waiting {
  inputs: Float32Array;
  rows: number;
  enqueuedAt: number;
  resolve(outputs: Float32Array): void;
  reject(error: unknown): void;
}

export class Batcher {
  readonly #options: BatcherOptions;
  #waiting: Waiting[] = [];
  #waitingRows = 0;
  #running = 0;
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Requests seen in this event-loop turn, and in the last turn that saw any. */
  #turn = 0;
  #lastTurn = 0;

  constructor(options: BatcherOptions) {
    this.#options = options;
  }

  /** Batches running now. */
  get running(): number {
    return this.#running;
  }

  /** Rows waiting for a batch now. */
  get waitingRows(): number {
    return this.#waitingRows;
  }

  /** Outputs for `rows` rows of `inputs` ([rows × width], row-major) as [rows × units]. */
  predict(inputs: Float32Array, rows: number): Promise<Float32Array> {
    const { maxBatchSize, maxDelayMs } = this.#options;
    if (maxDelayMs <= 0 || maxBatchSize <= 1 || rows >= maxBatchSize) {
      return this.#runAlone(inputs, rows);
    }
    if (this.#turn++ === 0) {
      setImmediate(() => {
        this.#lastTurn = this.#turn;
        this.#turn = 0;
      });
      // Requests come one at a time: waiting for the end of the turn would only add latency.
      if (this.#lastTurn <= 1 && this.#running === 0 && this.#waiting.length === 0) {
        return this.#runAlone(inputs, rows);
      }
    }
    if (this.#waitingRows + rows > maxBatchSize) this.#flush();
    return new Promise<Float32Array>((resolve, reject) => {
      const opened = this.#waiting.length === 0;
      this.#waiting.push({ inputs, rows, enqueuedAt: performance.now(), resolve, reject });
      this.#waitingRows += rows;
      if (this.#waitingRows >= maxBatchSize) {
        this.#flush();
        return;
      }
      if (opened) {
        this.#immediate = setImmediate(() => {
          this.#immediate = undefined;
          if (this.#running === 0) this.#flush();
        });
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#flush();
        }, maxDelayMs);
      }
    });
  }

  async #runAlone(inputs: Float32Array, rows: number): Promise<Float32Array> {
    this.#options.observer?.batch?.(rows, 1);
    this.#options.observer?.queued?.(0);
    this.#running++;
    try {
      return await this.#options.run(inputs, rows);
    } finally {
      this.#running--;
      if (this.#running === 0 && this.#waiting.length > 0 && !this.#immediate) this.#flush();
    }
  }

  #flush(): void {
    if (this.#immediate) clearImmediate(this.#immediate);
    if (this.#timer) clearTimeout(this.#timer);
    this.#immediate = undefined;
    this.#timer = undefined;
    const batch = this.#waiting;
    const rows = this.#waitingRows;
    if (batch.length === 0) return;
    this.#waiting = [];
    this.#waitingRows = 0;

    const { width, units, observer } = this.#options;
    const started = performance.now();
    for (const w of batch) observer?.queued?.((started - w.enqueuedAt) / 1000);
    observer?.batch?.(rows, batch.length);

    let inputs: Float32Array;
    if (batch.length === 1) inputs = batch[0]!.inputs;
    else {
      inputs = new Float32Array(rows * width);
      let offset = 0;
      for (const w of batch) {
        inputs.set(w.inputs.subarray(0, w.rows * width), offset);
        offset += w.rows * width;
      }
    }

    this.#running++;
    let result: Promise<Float32Array>;
    try {
      result = Promise.resolve(this.#options.run(inputs, rows));
    } catch (error) {
      result = Promise.reject(error);
    }
    result
      .then(
        (outputs) => {
          let offset = 0;
          for (const w of batch) {
            // A copy per caller, so no caller's view keeps the whole batch alive.
            w.resolve(outputs.slice(offset, offset + w.rows * units));
            offset += w.rows * units;
          }
        },
        (error: unknown) => {
          for (const w of batch) w.reject(error);
        },
      )
      .finally(() => {
        this.#running--;
        // Batch while busy: what gathered during this batch goes now, not after the delay.
        if (this.#running === 0 && this.#waiting.length > 0 && !this.#immediate) this.#flush();
      });
  }
}
