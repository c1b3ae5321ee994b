/**
 * Prediction: the resolver (resolver.ts) says which version answers, the model cache loads its
 * network once, and that version's dynamic batcher (batchers.ts) runs the rows, joining
 * concurrent requests into one forward pass. A request the traffic split routed may also be
 * copied to the split's shadow (traffic/shadow.ts) once its answer is computed.
 *
 * The transports hand rows over in one of three shapes (`PredictInput`, input.ts): JSON rows as
 * the schema parsed them, rows already packed into floats (with the raw values kept for a
 * version with preprocessing), or the network's input as is (the Open Inference Protocol's).
 */
import type { Database } from "../platform/db/client.ts";
import type { WorkerPool } from "../platform/threads/pool.ts";
import { Batchers } from "./batchers.ts";
import type { PredictionObserver, PredictionService, TensorPrediction } from "./contract.ts";
import type { PredictInput, PredictTarget } from "./input.ts";
import { type LoadedModel, loadModel, type ModelCache } from "./model-cache.ts";
import { toPredictResponse } from "./predict-response.ts";
import type { PredictRequest } from "./request.ts";
import { Resolver } from "./resolver.ts";
import { VersionRunner } from "./run.ts";
import { TrafficFigures } from "./traffic/figures.ts";
import { ShadowRunner } from "./traffic/shadow.ts";

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
  /** Which version answers; default one asking the database every `resolveTtlMs`. */
  resolver?: Resolver;
  /** The default resolver's time to live of a model's routing; 0 asks every time. */
  resolveTtlMs?: number;
  /** Dynamic batching; absent, or maxDelayMs 0, runs every request alone. */
  batching?: { maxBatchSize: number; maxDelayMs: number };
  observer?: PredictionObserver;
  /** Per-version figures of this process (GET traffic); default a fresh one. */
  figures?: TrafficFigures;
  /** Called with each failed shadow run's error (for the log); it never reaches a client. */
  onShadowError?: (error: unknown) => void;
}

/** The prediction service, and what the composition root tells it. */
export interface PredictionServiceControl extends PredictionService {
  /** A version became ready, or routing changed: resolve `model` (or every model) again. */
  forgetResolutions(model?: string): void;
  /** A model was deleted here: forget its routing, loaded networks, batchers and figures. */
  dropModel(name: string): void;
  readonly figures: TrafficFigures;
}

export function createPredictionService(deps: PredictionServiceDeps): PredictionServiceControl {
  const { db, pool, cache, observer, resolveTtlMs = 0 } = deps;
  const resolver = deps.resolver ?? new Resolver({ prisma: db.prisma, ttlMs: resolveTtlMs });
  const figures = deps.figures ?? new TrafficFigures();
  const shadows = new ShadowRunner({ figures, observer, onError: deps.onShadowError });
  const batchers = new Batchers({
    pool,
    inlineMaxRows: deps.inlineMaxRows,
    inlineMaxWork: deps.inlineMaxWork ?? Number.POSITIVE_INFINITY,
    batching: deps.batching ?? { maxBatchSize: 1, maxDelayMs: 0 },
    observer,
  });
  const runner = new VersionRunner(batchers, observer);
  const load = (versionId: string) =>
    // Concurrent first requests for a version share one load from Postgres.
    cache.get(versionId) ?? cache.getOrLoad(versionId, (id) => loadModel(db, id));

  /** Resolve, run, count; copy to the shadow when the split has one. */
  async function answer(target: PredictTarget, input: PredictInput): Promise<TensorPrediction> {
    const started = performance.now();
    const resolution = await resolver.resolve(target);
    const model = await load(resolution.versionId);
    let result: TensorPrediction;
    try {
      result = await runner.run(model, input, started, true);
    } catch (error) {
      count(model, started, false);
      throw error;
    }
    count(model, started, true);
    if (resolution.alias !== undefined) result.alias = resolution.alias;
    const shadow = resolution.shadow;
    if (shadow) {
      shadows.submit(model.model, shadow.version, result, async () =>
        runner.run(await load(shadow.versionId), input, performance.now(), false),
      );
    }
    return result;
  }

  function count(model: LoadedModel, started: number, ok: boolean) {
    figures.served(model.model, model.version, performance.now() - started, ok);
    observer?.served?.(model.model, model.version, ok);
  }

  return {
    figures,

    forgetResolutions(model) {
      resolver.forget(model);
    },

    dropModel(name) {
      resolver.forget(name);
      cache.dropModel(name);
      batchers.dropModel(name);
      figures.dropModel(name);
    },

    async predict(req: PredictRequest) {
      return toPredictResponse(await answer(req, { kind: "json", rows: req.inputs }));
    },

    predictRows: answer,
  };
}
