/**
 * Networks loaded for prediction, least recently used first out. Keyed by version id: a
 * version's weights never change once it is ready, so an entry is never stale, only unused.
 * A cold version is loaded once however many predictions ask for it at the same time.
 */

import {
  type ArchitectureJson,
  classifierKind,
  loadNetwork,
  type Network,
  type NetworkSpec,
} from "../engine/index.ts";
import type { Database } from "../platform/db/client.ts";
import { readStored } from "../platform/db/stored-json.ts";
import { conflict, notFound } from "../platform/errors.ts";
import type { Preprocessing } from "../versions/preprocessing/schema.ts";
import { storedArchitectureColumn, storedPreprocessingColumn } from "../versions/stored-columns.ts";
import { storedTrainingColumn } from "../versions/stored-training.ts";

export interface LoadedModel {
  versionId: string;
  model: string;
  version: number;
  network: Network;
  /** Kept for predictions handed to the worker pool. */
  architecture: ArchitectureJson;
  weights: Uint8Array;
  classes: "binary" | "multiclass" | null;
  /** How raw rows are encoded and outputs decoded; null for a version trained on numbers. */
  preprocessing: Preprocessing | null;
}

export class ModelCache {
  readonly #capacity: number;
  readonly #entries = new Map<string, LoadedModel>();
  /** Loads under way, one per version, shared by every caller that asks meanwhile. */
  readonly #loading = new Map<string, Promise<LoadedModel>>();

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

  /**
   * The version's network: from the cache, or else from `load`, called once for all the callers
   * that ask while it runs (they all get its result, or its error). A failed load is not kept:
   * the next call loads again.
   */
  getOrLoad(
    versionId: string,
    load: (versionId: string) => Promise<LoadedModel>,
  ): Promise<LoadedModel> {
    const cached = this.get(versionId);
    if (cached) return Promise.resolve(cached);
    const known = this.#loading.get(versionId);
    if (known) return known;
    const loading: Promise<LoadedModel> = Promise.resolve(versionId)
      .then(load)
      .then((entry) => {
        // Unless dropModel forgot this load meanwhile: its callers get it, the cache does not.
        if (this.#loading.get(versionId) === loading) this.set(entry);
        return entry;
      })
      .finally(() => {
        if (this.#loading.get(versionId) === loading) this.#loading.delete(versionId);
      });
    this.#loading.set(versionId, loading);
    return loading;
  }

  set(entry: LoadedModel): void {
    if (this.#capacity === 0) return;
    this.#entries.delete(entry.versionId);
    this.#entries.set(entry.versionId, entry);
    while (this.#entries.size > this.#capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /**
   * Drops every version of a model (it was deleted). Loads under way are forgotten too (which
   * model they load is not known until they end): the next call for any of them loads again.
   */
  dropModel(model: string): void {
    for (const [key, entry] of this.#entries) if (entry.model === model) this.#entries.delete(key);
    this.#loading.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Reads a ready version's architecture and weights from Postgres and builds its network: the
 * load to give ModelCache.getOrLoad.
 */
export async function loadModel(
  db: Pick<Database, "prisma">,
  versionId: string,
): Promise<LoadedModel> {
  const stored = await db.prisma.modelVersion.findUnique({
    where: { id: versionId },
    select: {
      version: true,
      status: true,
      architecture: true,
      training: true,
      weights: true,
      preprocessing: true,
      model: { select: { name: true } },
    },
  });
  if (!stored) throw notFound("model version", versionId);
  const { weights, model, version } = stored;
  if (stored.status !== "ready" || !weights) {
    throw conflict(
      `Version ${version} of model "${model.name}" is ${stored.status}, not ready; only a trained version predicts.`,
    );
  }
  const of = `of ${model.name}@${version}`;
  const architecture = readStored(
    storedArchitectureColumn,
    stored.architecture,
    `architecture ${of}`,
  );
  const training = readStored(storedTrainingColumn, stored.training, `training ${of}`);
  return {
    versionId,
    model: model.name,
    version,
    network: loadNetwork(architecture, weights),
    architecture,
    weights,
    classes: classifierKind(architecture as NetworkSpec, training.loss),
    preprocessing:
      stored.preprocessing === null
        ? null
        : readStored(storedPreprocessingColumn, stored.preprocessing, `preprocessing ${of}`),
  };
}
