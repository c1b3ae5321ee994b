/**
 * Prediction: resolve the version (the newest ready one unless asked), load its network once
 * into the cache, and run the rows through that version's dynamic batcher (batcher.ts), which
 * joins concurrent requests into one forward pass: small passes run right here, large ones in
 * the worker pool so the event loop keeps serving.
 */

import type { Database } from "../platform/db/client.ts";
import {
  AppError,
  conflict,
  type FieldIssue,
  notFound,
  validationError,
} from "../platform/errors.ts";
import type { WorkerPool } from "../platform/threads/pool.ts";
import type {
  PredictionService,
  TensorPrediction,
  TensorPredictRequest,
} from "../transport/services.ts";
import { decodeOutputs } from "../versions/preprocessing/decode.ts";
import { encodeRows, type RawRow } from "../versions/preprocessing/encode.ts";
import { Batcher, type BatchObserver } from "./batcher.ts";
import { type LoadedModel, loadModel, type ModelCache } from "./model-cache.ts";
import { packRows, unpackRows } from "./packed-rows.ts";
import { toPredictResponse } from "./predict-response.ts";
import type { PredictRequest } from "./request.ts";
import { widthIssues } from "./request.ts";

export interface PredictionServiceDeps {
  db: Database;
  pool: WorkerPool;
  cache: ModelCache;
  /** Larger batches run in the worker pool. */
  inlineMaxRows: number;
  /**
   * Passes costing more multiply-adds than this (rows x parameters) also run in the pool, so a
   * large model never holds the event loop for long. Default: no such limit.
   */
  inlineMaxWork?: number;
  /**
   * How long a name (or name@version) -> version lookup is reused before the database is asked
   * again. 0 asks every time. Deletes and trainings finished in this process are seen at once
   * (forgetResolutions); those of other replicas within this time.
   */
  resolveTtlMs?: number;
  /** Dynamic batching; absent, or maxDelayMs 0, runs every request alone. */
  batching?: { maxBatchSize: number; maxDelayMs: number };
  observer?: PredictionObserver;
}

/** What the metrics see of prediction. */
export interface PredictionObserver extends BatchObserver {
  /** One predict call on a resolved version, from arrival to outputs (or failure). */
  inference?(model: string, rows: number, seconds: number, ok: boolean): void;
}

/** The prediction service, and what the composition root tells it. */
export interface PredictionServiceControl extends PredictionService {
  /** A version was trained here: look names up again from now on. */
  forgetResolutions(): void;
  /** A model was deleted here: forget its lookups, loaded networks and batchers. */
  dropModel(name: string): void;
}

// Batchers of versions no longer used are dropped once there are more than this many.
const BATCHERS_KEPT = 64;
// A bound on remembered lookups, far above the models a replica serves.
const RESOLUTIONS_KEPT = 10_000;

export function createPredictionService({
  db,
  pool,
  cache,
  inlineMaxRows,
  inlineMaxWork = Number.POSITIVE_INFINITY,
  batching = { maxBatchSize: 1, maxDelayMs: 0 },
  observer,
  resolveTtlMs = 0,
}: PredictionServiceDeps): PredictionServiceControl {
  const { prisma } = db;
  // A lookup costs a query (a third of a millisecond of CPU in Prisma alone), several times
  // the whole of a small model's prediction: under load it is reused for resolveTtlMs.
  const resolutions = new Map<string, { versionId: string; expires: number }>();
  const lookups = new Map<string, Promise<LoadedModel>>();
  const refreshing = new Set<string>();
  let generation = 0;
  const batchers = new Map<string, { batcher: Batcher; model: string }>();

  function batcherFor(model: LoadedModel): Batcher {
    const known = batchers.get(model.versionId);
    if (known) return known.batcher;
    if (batchers.size >= BATCHERS_KEPT) {
      for (const [key, { batcher: b }] of batchers)
        if (b.running === 0 && b.waitingRows === 0) batchers.delete(key);
    }
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
    const batcher = new Batcher({
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
    batchers.set(model.versionId, { batcher, model: model.model });
    return batcher;
  }

  async function resolve(name: string, version: number | undefined): Promise<LoadedModel> {
    const key = version === undefined ? name : `${name}@${version}`;
    const known = resolutions.get(key);
    if (known) {
      const loaded = cache.get(known.versionId);
      if (loaded) {
        // Past its time the lookup is made again, in the background: a request never waits on
        // it (under load, one that did would hold up every request that arrives meanwhile).
        if (known.expires <= performance.now() && !refreshing.has(key)) {
          refresh(key, name, version);
        }
        return loaded;
      }
    }
    return lookup(key, name, version);
  }

  /** One lookup per key at a time; concurrent requests share it. */
  function lookup(key: string, name: string, version: number | undefined): Promise<LoadedModel> {
    let pending = lookups.get(key);
    if (!pending) {
      pending = lookupNow(name, version, key).finally(() => {
        if (lookups.get(key) === pending) lookups.delete(key);
      });
      lookups.set(key, pending);
    }
    return pending;
  }

  function refresh(key: string, name: string, version: number | undefined): void {
    refreshing.add(key);
    lookup(key, name, version)
      .catch((error: unknown) => {
        // The version known is no longer the answer (deleted, or no longer ready): the next
        // request asks in the foreground and gets the error. Any other failure (the database
        // away) keeps serving the known version; a later request tries again.
        if (
          error instanceof AppError &&
          (error.code === "NOT_FOUND" || error.code === "CONFLICT")
        ) {
          resolutions.delete(key);
        }
      })
      .finally(() => refreshing.delete(key));
  }

  async function lookupNow(
    name: string,
    version: number | undefined,
    key: string,
  ): Promise<LoadedModel> {
    // A deletion or training here while the query runs makes its answer one not to keep.
    const asked = generation;
    // The name -> version lookup goes to the database, so a model deleted or retrained through
    // another replica is seen within resolveTtlMs (and one query); weights stay cached.
    const row = await prisma.modelVersion.findFirst({
      where: {
        model: { name },
        ...(version === undefined ? { status: "ready" } : { version }),
      },
      orderBy: { version: "desc" },
      select: { id: true, version: true, status: true },
    });
    if (!row) {
      if (version !== undefined) throw notFound("model version", `${name}@${version}`);
      const exists = await prisma.model.findUnique({ where: { name }, select: { id: true } });
      if (!exists) throw notFound("model", name);
      throw conflict(`Model "${name}" has no trained version yet; wait for its training job.`);
    }
    if (row.status !== "ready") {
      throw conflict(
        `Version ${row.version} of model "${name}" is ${row.status}, not ready; only a trained version predicts.`,
      );
    }
    if (resolveTtlMs > 0 && asked === generation) {
      if (resolutions.size >= RESOLUTIONS_KEPT) resolutions.clear();
      resolutions.set(key, { versionId: row.id, expires: performance.now() + resolveTtlMs });
    }
    // Concurrent first requests for a version share one load from Postgres.
    return cache.get(row.id) ?? cache.getOrLoad(row.id, (id) => loadModel(db, id));
  }

  return {
    forgetResolutions() {
      generation++;
      resolutions.clear();
      lookups.clear();
    },

    dropModel(name) {
      generation++;
      resolutions.clear();
      lookups.clear();
      cache.dropModel(name);
      // A batcher holds its version's network and weights; an idle one of the model goes too
      // (a busy one finishes its callers and is dropped with the next batcher beyond the bound).
      for (const [versionId, { batcher, model }] of batchers) {
        if (model === name && batcher.running === 0 && batcher.waitingRows === 0) {
          batchers.delete(versionId);
        }
      }
    },

    predictTensor,

    async predict(req: PredictRequest) {
      const started = performance.now();
      const model = await resolve(req.model, req.version);
      if (model.preprocessing) {
        return toPredictResponse(await runEncoded(model, req.inputs, started));
      }
      // A version trained on inline numbers takes rows of numbers only.
      const issues = numericRowIssues(req.inputs, model);
      if (issues.length > 0) {
        observer?.inference?.(model.model, req.inputs.length, 0, false);
        throw validationError(issues);
      }
      const rows = req.inputs.length;
      const numeric = req.inputs as number[][];
      // The schema has made every row of numbers as wide as the first.
      const width = numeric[0]?.length ?? 0;
      const x = packRows(numeric, width);
      return toPredictResponse(
        await run(
          model,
          {
            model: req.model,
            ...(req.version === undefined ? {} : { version: req.version }),
            inputs: x,
            rows,
            width,
          },
          started,
        ),
      );
    },
  };

  async function predictTensor(req: TensorPredictRequest): Promise<TensorPrediction> {
    const started = performance.now();
    return run(await resolve(req.model, req.version), req, started);
  }

  async function run(
    model: LoadedModel,
    req: TensorPredictRequest,
    started: number,
  ): Promise<TensorPrediction> {
    if (model.preprocessing && !req.encoded) {
      // Packed rows for a version with preprocessing are raw values in the stored feature order.
      return runEncoded(
        model,
        req.rawRows?.() ?? unpackRows(req.inputs, req.rows, req.width),
        started,
      );
    }
    const { rows, width } = req;
    let y: Float32Array;
    // From here on the model is known: a failure counts against it in the metrics.
    try {
      const expected = model.network.inputs;
      if (width !== expected) throw validationError(widthIssues(rows, width, expected));
      y = await batcherFor(model).predict(req.inputs, rows);
    } catch (error) {
      observer?.inference?.(model.model, rows, (performance.now() - started) / 1000, false);
      throw error;
    }
    observer?.inference?.(model.model, rows, (performance.now() - started) / 1000, true);
    return withClasses(model, rows, y);
  }

  /** Raw rows (named or positional) through the version's preprocessing, then the network. */
  async function runEncoded(
    model: LoadedModel,
    raw: readonly RawRow[],
    started: number,
  ): Promise<TensorPrediction> {
    const preprocessing = model.preprocessing!;
    const rows = raw.length;
    let y: Float32Array;
    try {
      const x = encodeRows(preprocessing, raw);
      y = await batcherFor(model).predict(x, rows);
    } catch (error) {
      observer?.inference?.(model.model, rows, (performance.now() - started) / 1000, false);
      throw error;
    }
    observer?.inference?.(model.model, rows, (performance.now() - started) / 1000, true);
    const result = withClasses(model, rows, y);
    result.predictions = decodeOutputs(preprocessing, y, result.units);
    return result;
  }

  function withClasses(model: LoadedModel, rows: number, y: Float32Array): TensorPrediction {
    const units = model.network.outputs;
    const result: TensorPrediction = {
      model: model.model,
      version: model.version,
      rows,
      units,
      outputs: y,
    };
    if (model.classes === "binary") {
      const classes: number[] = new Array(rows);
      for (let r = 0; r < rows; r++) classes[r] = y[r * units]! >= 0.5 ? 1 : 0;
      result.classes = classes;
    } else if (model.classes === "multiclass") {
      const classes: number[] = new Array(rows);
      for (let r = 0; r < rows; r++) classes[r] = argmax(y, r * units, units);
      result.classes = classes;
    }
    return result;
  }
}

/** What a version without preprocessing says of rows that are not all numbers. */
function numericRowIssues(rows: PredictRequest["inputs"], model: LoadedModel): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (let i = 0; i < rows.length && issues.length < 10; i++) {
    const row = rows[i]!;
    if (!Array.isArray(row)) {
      issues.push({
        path: `inputs[${i}]`,
        message: `is keyed by name, but version ${model.version} of model "${model.model}" was trained on numbers without a dataset: send an array of ${model.network.inputs} numbers`,
      });
      continue;
    }
    for (let j = 0; j < row.length && issues.length < 10; j++) {
      const x = row[j];
      if (typeof x !== "number")
        issues.push({
          path: `inputs[${i}][${j}]`,
          message: `Invalid input: expected number, received ${x === null ? "null" : typeof x}`,
        });
    }
  }
  return issues;
}

function argmax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i]! > values[offset + best]!) best = i;
  return best;
}
