/**
 * Networks loaded for prediction, least recently used first out. Keyed by version id: a
 * version's weights never change once it is ready, so an entry is never stale, only unused.
 */
import type { ArchitectureJson, Network } from "../engine/index.ts";

export interface LoadedModel {
  versionId: string;
  model: string;
  version: number;
  network: Network;
  /** Kept for predictions handed to the worker pool. */
  architecture: ArchitectureJson;
  weights: Uint8Array;
  classes: "binary" | "multiclass" | null;
}

export class ModelCache {
  readonly #capacity: number;
  readonly #entries = new Map<string, LoadedModel>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(versionId: string): LoadedModel | undefined {
    const entry = this.#entries.get(versionId);
    if (entry) {
      // Map keeps insertion order: re-inserting marks the entry most recently used.
      this.#entries.delete(versionId);
      this.#entries.set(versionId, entry);
    }
    return entry;
  }

  set(entry: LoadedModel): void {
    if (this.#capacity === 0) return;
    this.#entries.delete(entry.versionId);
    this.#entries.set(entry.versionId, entry);
    while (this.#entries.size > this.#capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** Drops every version of a model (it was deleted). */
  dropModel(model: string): void {
    for (const [key, entry] of this.#entries) if (entry.model === model) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
