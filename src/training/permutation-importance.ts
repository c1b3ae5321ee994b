/**
 * Permutation importance (Breiman 2001; scikit-learn's permutation_importance) on a version's
 * test split: shuffle one feature's encoded columns across the test rows (a categorical
 * feature's one-hot columns move together), score again, and take how much worse the score got
 * (accuracy lost, or mean absolute error gained), averaged over REPEATS seeded shuffles.
 */
import { Random } from "../engine/index.ts";
import type { PermutationImportance } from "../versions/evaluation-schema.ts";
import { encodedWidth, type Preprocessing } from "../versions/preprocessing/schema.ts";

export const REPEATS = 3;

/**
 * `score(inputs)` scores rows of the test split's inputs (higher better); `base` is its score
 * on the rows as they are. Sorted by importance, largest first.
 */
export async function permutationImportance(
  preprocessing: Preprocessing,
  inputs: Float32Array,
  rows: number,
  base: number,
  score: (inputs: Float32Array) => Promise<number>,
  seed = 1,
): Promise<PermutationImportance[]> {
  const width = encodedWidth(preprocessing.features);
  const random = new Random(seed);
  const order = new Int32Array(rows);
  const shuffled = new Float32Array(inputs.length);
  const out: PermutationImportance[] = [];
  let column = 0;
  for (const feature of preprocessing.features) {
    const span = encodedWidth([feature]);
    const drops: number[] = [];
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      for (let r = 0; r < rows; r++) order[r] = r;
      random.shuffle(order);
      shuffled.set(inputs);
      // Row r takes the feature's columns of row order[r]; every other column stays.
      for (let r = 0; r < rows; r++) {
        const from = order[r]! * width + column;
        shuffled.set(inputs.subarray(from, from + span), r * width + column);
      }
      drops.push(base - (await score(shuffled)));
    }
    const mean = drops.reduce((s, d) => s + d, 0) / drops.length;
    const std = Math.sqrt(drops.reduce((s, d) => s + (d - mean) ** 2, 0) / drops.length);
    out.push({ feature: feature.name, importance: mean, std });
    column += span;
  }
  return out.sort((a, b) => b.importance - a.importance);
}
