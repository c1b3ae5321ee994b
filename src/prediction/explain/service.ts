/**
 * `"explain": true`: the prediction as POST /predict makes it (through the prediction service,
 * pinned to the version looked up here), plus, per row, integrated-gradients attributions of
 * what the version predicted (the predicted label's probability, or the value) from a baseline
 * (baseline.ts). Attributions are by feature name, one-hot columns summed into their category;
 * by input index for a version without preprocessing.
 *
 * Work: up to EXPLAIN_MAX_ROWS rows, each at most STEP_BUDGET / parameters gradients (at least
 * MIN_STEPS), run on the event loop in slices that yield between them.
 */
import type pg from "pg";
import { EngineError, InputGradients, type Network } from "../../engine/index.ts";
import type { Database } from "../../platform/db/client.ts";
import { AppError, validationError } from "../../platform/errors.ts";
import { encodeRows, type RawRow } from "../../versions/preprocessing/encode.ts";
import { encodedWidth } from "../../versions/preprocessing/schema.ts";
import type { PredictionService } from "../contract.ts";
import { type LoadedModel, loadModel, type ModelCache } from "../model-cache.ts";
import type { PredictRequest, PredictResponse } from "../request.ts";
import { lookupVersion } from "../tabular/version-lookup.ts";
import { baselineFor } from "./baseline.ts";
import { integratedGradients } from "./integrated-gradients.ts";
import type { Explanation } from "./schemas.ts";

export const EXPLAIN_MAX_ROWS = 100;
/** Multiply-adds of gradients per row: a Fashion-MNIST-size network gets 512 steps. */
const STEP_BUDGET = 2 ** 27;
const MIN_STEPS = 16;
const MAX_STEPS = 4096;
/** Completeness asked of the integral; the response reports what is left. */
const TOLERANCE = 1e-5;

export interface ExplainService {
  /** PredictResponse with `baseline` and `explanations`. */
  predict(req: PredictRequest): Promise<PredictResponse>;
}

export function createExplainService(deps: {
  pool: pg.Pool;
  db: Pick<Database, "prisma">;
  cache: ModelCache;
  prediction: PredictionService;
}): ExplainService {
  const gradientsOf = new WeakMap<Network, InputGradients>();
  const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

  return {
    async predict(req) {
      if (req.inputs.length > EXPLAIN_MAX_ROWS)
        throw validationError([
          {
            path: "inputs",
            message: `has ${req.inputs.length} rows; explain takes at most ${EXPLAIN_MAX_ROWS} at once`,
          },
        ]);
      const facts = await lookupVersion(deps.pool, req.model, req);
      const baseline = baselineFor(facts.preprocessing, facts.inputs, facts.version, req.baseline);
      const { explain: _explain, baseline: _baseline, alias: _alias, ...plain } = req;
      const response = await deps.prediction.predict({ ...plain, version: facts.version });
      const model = await deps.cache.getOrLoad(facts.id, (id) => loadModel(deps.db, id));
      let gradients = gradientsOf.get(model.network);
      if (!gradients) {
        try {
          gradients = new InputGradients(model.network);
        } catch (error) {
          if (error instanceof EngineError)
            throw new AppError(
              "VALIDATION_FAILED",
              `Version ${facts.version} of model "${req.model}" cannot be explained: ${error.field} ${error.message}.`,
              { errors: [{ path: "explain", message: `network ${error.field} ${error.message}` }] },
            );
          throw error;
        }
        gradientsOf.set(model.network, gradients);
      }
      const rows = encoded(model, req.inputs);
      const steps = Math.min(
        MAX_STEPS,
        Math.max(MIN_STEPS, 2 ** Math.floor(Math.log2(STEP_BUDGET / model.network.parameterCount))),
      );
      const explanations: Explanation[] = [];
      for (let r = 0; r < rows.length; r++) {
        const what = explained(model, response, r);
        const a = await integratedGradients(
          gradients,
          rows[r]!,
          baseline.encoded,
          what.unit,
          what.sign,
          what.offset,
          { tolerance: TOLERANCE, minSteps: MIN_STEPS, maxSteps: steps, pause },
        );
        explanations.push({
          target: what.target,
          output: a.output,
          baselineOutput: a.baselineOutput,
          attributions: byFeature(model, a.values),
          gap: a.gap,
          steps: a.steps,
        });
        await pause();
      }
      return { ...response, baseline: baseline.stated, explanations };
    },
  };
}

/** The network's input rows, in float64. */
function encoded(model: LoadedModel, inputs: PredictRequest["inputs"]): Float64Array[] {
  const width = model.network.inputs;
  const packed = model.preprocessing
    ? encodeRows(model.preprocessing, inputs as RawRow[])
    : Float32Array.from((inputs as number[][]).flat());
  return inputs.map((_, r) => Float64Array.from(packed.subarray(r * width, (r + 1) * width)));
}

/** Which output of row r is explained, as sign · output[unit] + offset. */
function explained(
  model: LoadedModel,
  response: PredictResponse,
  r: number,
): { target: string; unit: number; sign: number; offset: number } {
  const units = model.network.outputs;
  const target = model.preprocessing?.target;
  if (target?.type === "numeric")
    return { target: "value", unit: 0, sign: target.scale, offset: target.center };
  if (target?.type === "categorical") {
    const label = (response.predictions?.[r] as { label: string } | undefined)?.label ?? "";
    if (units === 1) {
      const second = label === target.classes[1];
      return {
        target: `probability of ${label}`,
        unit: 0,
        sign: second ? 1 : -1,
        offset: second ? 0 : 1,
      };
    }
    return {
      target: `probability of ${label}`,
      unit: target.classes.indexOf(label),
      sign: 1,
      offset: 0,
    };
  }
  const cls = response.classes?.[r];
  if (cls === undefined) return { target: "output 0", unit: 0, sign: 1, offset: 0 };
  if (units === 1)
    return {
      target: `probability of class ${cls}`,
      unit: 0,
      sign: cls === 1 ? 1 : -1,
      offset: cls === 1 ? 0 : 1,
    };
  return { target: `output ${cls}`, unit: cls, sign: 1, offset: 0 };
}

/** Encoded-column attributions summed back into their features. */
function byFeature(model: LoadedModel, values: Float64Array): Record<string, number> | number[] {
  const preprocessing = model.preprocessing;
  if (!preprocessing) return Array.from(values);
  const out: Record<string, number> = {};
  let column = 0;
  for (const feature of preprocessing.features) {
    const width = encodedWidth([feature]);
    let sum = 0;
    for (let c = 0; c < width; c++) sum += values[column + c]!;
    out[feature.name] = sum;
    column += width;
  }
  return out;
}
