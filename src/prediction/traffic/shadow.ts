/**
 * The shadow: a copy of each routed request, run on the shadow version once the answer has been
 * computed (setImmediate: after the reply is written), its outputs compared with the answer's
 * and then thrown away. A shadow run never changes the answer and its failure never fails the
 * request: both only show in the figures. At most `maxInFlight` run at once; copies beyond that
 * are skipped (and counted), so a slow shadow cannot pile up work behind the real traffic.
 */
import type { ShadowObserver, TensorPrediction } from "../contract.ts";
import type { Comparison, TrafficFigures } from "./figures.ts";

export interface ShadowRunnerOptions {
  figures: TrafficFigures;
  maxInFlight?: number;
  observer?: ShadowObserver | undefined;
  onError?: (error: unknown) => void;
}

export class ShadowRunner {
  readonly #figures: TrafficFigures;
  readonly #maxInFlight: number;
  readonly #observer: ShadowObserver | undefined;
  readonly #onError: (error: unknown) => void;
  #inFlight = 0;

  constructor({ figures, maxInFlight = 4, observer, onError = () => {} }: ShadowRunnerOptions) {
    this.#figures = figures;
    this.#maxInFlight = maxInFlight;
    this.#observer = observer;
    this.#onError = onError;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Runs `replay` (the same rows on the shadow version) later; returns at once. */
  submit(
    model: string,
    version: number,
    answer: TensorPrediction,
    replay: () => Promise<TensorPrediction>,
  ): void {
    if (this.#inFlight >= this.#maxInFlight) {
      this.#figures.shadowSkipped(model, version);
      return;
    }
    this.#inFlight++;
    setImmediate(() => {
      replay()
        .then(
          (shadow) => compareOutputs(answer, shadow),
          (error: unknown) => {
            this.#onError(error);
            return undefined;
          },
        )
        .then((comparison) => {
          const figures = this.#figures.shadowed(model, version, comparison).view(version);
          if (comparison) {
            this.#observer?.shadowCompared?.(
              model,
              version,
              figures.labelAgreement,
              figures.meanAbsoluteDifference,
            );
          }
        })
        .catch(this.#onError)
        .finally(() => this.#inFlight--);
    });
  }
}

/**
 * Classifiers compare classes row by row; others the outputs value by value. Outputs of another
 * shape cannot be compared: that counts as a failed shadow run.
 */
export function compareOutputs(answer: TensorPrediction, shadow: TensorPrediction): Comparison {
  if (answer.rows !== shadow.rows)
    throw new Error("the shadow answered a different number of rows");
  if (answer.classes && shadow.classes) {
    let agreeing = 0;
    for (let r = 0; r < answer.rows; r++) if (answer.classes[r] === shadow.classes[r]) agreeing++;
    return { rows: answer.rows, agreeing };
  }
  if (answer.units !== shadow.units) {
    throw new Error(`the shadow has ${shadow.units} outputs, the answer ${answer.units}`);
  }
  let absDiffSum = 0;
  const a = answer.outputs;
  const b = shadow.outputs;
  for (let i = 0; i < a.length; i++) absDiffSum += Math.abs(a[i]! - b[i]!);
  return { rows: answer.rows, absDiffSum, values: a.length };
}
