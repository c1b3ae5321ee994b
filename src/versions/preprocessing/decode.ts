/**
 * The network's outputs -> what a client asked for: a label with every class's probability for a
 * classifier, a value in the target's units for a regressor.
 */
import type { Preprocessing } from "./schema.ts";

export type LabelPrediction = { label: string; probabilities: Record<string, number> };
export type ValuePrediction = { value: number };
export type Prediction = LabelPrediction | ValuePrediction;

/**
 * `outputs` is rows x units, row-major. A classifier's label is the class of the largest output
 * (the first on a tie, as argmax does everywhere else in nnserve); a one-unit sigmoid classifier
 * over two classes reads its output as the probability of classes[1], as scikit-learn does.
 */
export function decodeOutputs(
  preprocessing: Preprocessing,
  outputs: Float32Array | readonly number[],
  units: number,
): Prediction[] {
  const rows = units === 0 ? 0 : outputs.length / units;
  const predictions: Prediction[] = new Array(rows);
  const { target } = preprocessing;
  for (let r = 0; r < rows; r++) {
    const base = r * units;
    // A numeric target is one column, so its network has one output unit (training and import
    // both check it).
    if (target.type === "numeric") {
      predictions[r] = { value: target.center + target.scale * (outputs[base] as number) };
      continue;
    }
    const { classes } = target;
    const probabilities: Record<string, number> = {};
    let best = 0;
    if (units === 1 && classes.length === 2) {
      const p = outputs[base] as number;
      probabilities[classes[0] as string] = 1 - p;
      probabilities[classes[1] as string] = p;
      best = p > 0.5 ? 1 : 0;
    } else {
      for (let u = 0; u < units; u++) {
        const p = outputs[base + u] as number;
        probabilities[classes[u] ?? String(u)] = p;
        if (p > (outputs[base + best] as number)) best = u;
      }
    }
    predictions[r] = { label: classes[best] ?? String(best), probabilities };
  }
  return predictions;
}
