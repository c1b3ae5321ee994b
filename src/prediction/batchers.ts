/**
 * One dynamic batcher per loaded version (batcher.ts): small passes run on the event loop, large
 * ones (rows or multiply-adds over a bound) in the worker pool, so a large model never holds the
 * event loop for long.
 */
import type { WorkerPool } from "../platform/threads/pool.ts";
import { Batcher, type BatchObserver } from "./batcher.ts";
import type { LoadedModel } from "./model-cache.ts";

// Batchers of versions no longer used are dropped once there are more than this many.
const BATCHERS_KEPT = 64;

export interface BatchersOptions {
  pool: WorkerPool;
  inlineMaxRows: number;
  inlineMaxWork: number;
  batching: { maxBatchSize: number; maxDelayMs: number };
  observer?: BatchObserver | undefined;
}

export class Batchers {
  readonly #options: BatchersOptions;
  readonly #byVersion = new Map<string, { batcher: Batcher; model: string }>();

  constructor(options: BatchersOptions) {
    this.#options = options;
  }

  for(model: LoadedModel): Batcher {
    const known = this.#byVersion.get(model.versionId);
    if (known) return known.batcher;
    if (this.#byVersion.size >= BATCHERS_KEPT) {
      for (const [key, { batcher }] of this.#byVersion)
        if (idle(batcher)) this.#byVersion.delete(key);
    }
    const batcher = this.#create(model);
    this.#byVersion.set(model.versionId, { batcher, model: model.model });
    return batcher;
  }

  /**
   * A batcher holds its version's network and weights; an idle one of the deleted model goes
   * (a busy one finishes its callers and is dropped with the next batcher beyond the bound).
   */
  dropModel(name: string): void {
    for (const [versionId, { batcher, model }] of this.#byVersion) {
      if (model === name && idle(batcher)) this.#byVersion.delete(versionId);
    }
  }

  #create(model: LoadedModel): Batcher {
    const { pool, inlineMaxRows, inlineMaxWork, batching, observer } = this.#options;
    const { network } = model;
    const parameters = network.parameterCount;
    // The weights go to the pool thread with every large pass; in shared memory they are
    // handed over, not copied (a Fashion-MNIST-size model is close to 1 MB).
    let shared: Uint8Array | undefined;
    const sharedWeights = () => {
      if (!shared) {
        shared = new Uint8Array(new SharedArrayBuffer(model.weights.byteLength));
        shared.set(model.weights);
      }
      return shared;
    };
    return new Batcher({
      width: network.inputs,
      units: network.outputs,
      maxBatchSize: batching.maxBatchSize,
      maxDelayMs: batching.maxDelayMs,
      observer,
      run: (inputs, rows) =>
        rows > inlineMaxRows || rows * parameters > inlineMaxWork
          ? pool.predict({
              key: model.versionId,
              architecture: model.architecture,
              weights: sharedWeights(),
              inputs,
              rows,
            })
          : network.predict(inputs, rows),
    });
  }
}

const idle = (batcher: Batcher) => batcher.running === 0 && batcher.waitingRows === 0;
