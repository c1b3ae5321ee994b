/**
 * The prediction service as the transports see it once a model is operated: the same
 * predictions, and for a sample of requests their rows counted for drift (drift/recorder.ts)
 * and what was predicted logged with a predictionId per row for feedback (feedback/log.ts).
 * It wraps the PredictionService interface and nothing else: the version that answered is read
 * from the response, its statistics looked up once per version.
 */
import type pg from "pg";
import type { Prediction } from "../versions/preprocessing/decode.ts";
import type { RawRow } from "../versions/preprocessing/encode.ts";
import type { PredictionService, TensorPrediction } from "./contract.ts";
import type { DriftRecorder } from "./drift/recorder.ts";
import type { Predicted, PredictionLog } from "./feedback/log.ts";
import type { PackedInput, PredictTarget } from "./input.ts";
import { unpackRows } from "./packed-rows.ts";
import type { PredictRequest, PredictResponse } from "./request.ts";
import { lookupVersion, type VersionFacts } from "./tabular/version-lookup.ts";

export interface ObservedPredictionOptions {
  pool: pg.Pool;
  drift?: { recorder: DriftRecorder; sampleRate: number };
  log?: { log: PredictionLog; rate: number };
  /** Draws in [0, 1) that decide which requests are sampled (tests pass their own). */
  random?: () => number;
  /** Told why a sampled request could not be counted or logged; the request still answers. */
  onError?: (error: unknown) => void;
}

// A bound on how many versions are remembered, and for how long: a model deleted and trained
// again through another replica reuses its name and version numbers with new version ids.
const VERSIONS_KEPT = 1_000;
const VERSION_TTL_MS = 60_000;

export function observePredictions(
  inner: PredictionService,
  options: ObservedPredictionOptions,
): PredictionService & { forget(): void } {
  const random = options.random ?? Math.random;
  const versions = new Map<string, { facts: Promise<VersionFacts>; expires: number }>();

  function factsOf(model: string, version: number): Promise<VersionFacts> {
    const key = `${model}@${version}`;
    const known = versions.get(key);
    if (known && known.expires > Date.now()) return known.facts;
    if (versions.size >= VERSIONS_KEPT) versions.clear();
    const facts = lookupVersion(options.pool, model, version);
    facts.catch(() => versions.delete(key));
    versions.set(key, { facts, expires: Date.now() + VERSION_TTL_MS });
    return facts;
  }

  /** After a prediction: count its rows, log what it predicted; returns the predictionIds. */
  async function observe(
    model: string,
    version: number,
    raw: () => readonly RawRow[] | undefined,
    predicted: () => Predicted[],
  ): Promise<(string | null)[] | undefined> {
    const drift = options.drift && options.drift.sampleRate > random() ? options.drift : undefined;
    const log = options.log && options.log.rate > random() ? options.log : undefined;
    if (!drift && !log) return undefined;
    // Bookkeeping never fails a prediction that was made: a version deleted meanwhile (through
    // another replica, say) or a database blip loses this sample, not the answer.
    try {
      const facts = await factsOf(model, version);
      if (drift && facts.preprocessing?.statistics) {
        const rows = raw();
        if (rows)
          drift.recorder.observe({ id: facts.id, preprocessing: facts.preprocessing }, rows);
      }
      return log?.log.record(facts.id, predicted());
    } catch (error) {
      options.onError?.(error);
      return undefined;
    }
  }

  return {
    forget: () => versions.clear(),

    async predict(req: PredictRequest): Promise<PredictResponse> {
      const response = await inner.predict(req);
      const ids = await observe(
        response.model,
        response.version,
        () => req.inputs as readonly RawRow[],
        () =>
          predictedOf(
            response.predictions,
            response.classes,
            response.outputs.map((o) => o[0] ?? 0),
          ),
      );
      if (ids) response.predictionIds = ids;
      return response;
    },

    async predictRows(target: PredictTarget, rows: PackedInput): Promise<TensorPrediction> {
      const result = await inner.predictRows(target, rows);
      const ids = await observe(
        result.model,
        result.version,
        // The Open Inference Protocol's tensor is the network's input, not features.
        () =>
          rows.kind === "network"
            ? undefined
            : (rows.raw?.() ?? unpackRows(rows.values, rows.rows, rows.width)),
        () => {
          const first = Array.from(
            { length: result.rows },
            (_, r) => result.outputs[r * result.units]!,
          );
          return predictedOf(result.predictions, result.classes, first);
        },
      );
      if (ids) result.predictionIds = ids;
      return result;
    },
  };
}

function predictedOf(
  predictions: readonly Prediction[] | undefined,
  classes: readonly number[] | undefined,
  firstOutputs: readonly number[],
): Predicted[] {
  if (predictions)
    return predictions.map(
      (p): Predicted => ("label" in p ? { label: p.label } : { value: p.value }),
    );
  if (classes) return classes.map((c) => ({ class: c }));
  return firstOutputs.map((output) => ({ output }));
}
