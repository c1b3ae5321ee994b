/**
 * Rows through one loaded version: JSON rows (numbers, or raw values for a version with
 * preprocessing), packed rows, or the network's input as is (input.ts).
 */
import { validationError } from "../platform/errors.ts";
import { decodeOutputs } from "../versions/preprocessing/decode.ts";
import { encodeRows, type RawRow } from "../versions/preprocessing/encode.ts";
import type { Batchers } from "./batchers.ts";
import type { PredictionObserver, TensorPrediction } from "./contract.ts";
import type { PredictInput } from "./input.ts";
import type { LoadedModel } from "./model-cache.ts";
import { unpackRows } from "./packed-rows.ts";
import { widthIssues } from "./request.ts";
import { numericRowIssues, pack, withClasses } from "./rows.ts";

export class VersionRunner {
  readonly #batchers: Batchers;
  readonly #observer: PredictionObserver | undefined;

  constructor(batchers: Batchers, observer: PredictionObserver | undefined) {
    this.#batchers = batchers;
    this.#observer = observer;
  }

  /** The rows through `model`; `observe`: count in the inference metrics (not a shadow's run). */
  async run(
    model: LoadedModel,
    input: PredictInput,
    started: number,
    observe: boolean,
  ): Promise<TensorPrediction> {
    const seen = (rows: number, ok: boolean) =>
      observe &&
      this.#observer?.inference?.(model.model, rows, (performance.now() - started) / 1000, ok);
    if (input.kind === "json") {
      if (model.preprocessing) return this.#encoded(model, input.rows, seen);
      // A version trained on inline numbers takes rows of numbers only.
      const issues = numericRowIssues(input.rows, model);
      if (issues.length > 0) {
        if (observe) this.#observer?.inference?.(model.model, input.rows.length, 0, false);
        throw validationError(issues);
      }
      return this.#network(model, pack(input.rows as number[][]), seen);
    }
    if (input.kind === "packed" && model.preprocessing) {
      // Packed rows for a version with preprocessing are raw values in the stored feature order.
      return this.#encoded(
        model,
        input.raw?.() ?? unpackRows(input.values, input.rows, input.width),
        seen,
      );
    }
    return this.#network(model, input, seen);
  }

  async #network(
    model: LoadedModel,
    { values, rows, width }: { values: Float32Array; rows: number; width: number },
    seen: (rows: number, ok: boolean) => void,
  ): Promise<TensorPrediction> {
    let y: Float32Array;
    // From here on the model is known: a failure counts against it in the metrics.
    try {
      const expected = model.network.inputs;
      if (width !== expected) throw validationError(widthIssues(rows, width, expected));
      y = await this.#batchers.for(model).predict(values, rows);
    } catch (error) {
      seen(rows, false);
      throw error;
    }
    seen(rows, true);
    return withClasses(model, rows, y);
  }

  /** Raw rows (named or positional) through the version's preprocessing, then the network. */
  async #encoded(
    model: LoadedModel,
    raw: readonly RawRow[],
    seen: (rows: number, ok: boolean) => void,
  ): Promise<TensorPrediction> {
    const preprocessing = model.preprocessing!;
    const rows = raw.length;
    let y: Float32Array;
    try {
      const x = encodeRows(preprocessing, raw);
      y = await this.#batchers.for(model).predict(x, rows);
    } catch (error) {
      seen(rows, false);
      throw error;
    }
    seen(rows, true);
    const result = withClasses(model, rows, y);
    result.predictions = decodeOutputs(preprocessing, y, result.units);
    return result;
  }
}
