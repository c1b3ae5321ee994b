/**
 * Scores a trained version on its job's held-back test rows (split "test" of training_data):
 * the rows go through the network and decodeOutputs as a prediction would, and are compared
 * with the true class or value. Runs in the job runner before the job is completed, so the
 * evaluation is written in the same statement as the weights; the forward pass runs where the
 * caller says (the prediction pool, off the event loop that serves requests).
 */

import type { ArchitectureJson } from "../engine/index.ts";
import { bytesToFloat32, bytesToInt32 } from "../platform/db/binary.ts";
import type { Database } from "../platform/db/client.ts";
import { readStored } from "../platform/db/stored-json.ts";
import type { Evaluation } from "../versions/evaluation-schema.ts";
import { decodeOutputs, type LabelPrediction } from "../versions/preprocessing/decode.ts";
import { storedArchitectureColumn, storedPreprocessingColumn } from "../versions/stored-columns.ts";
import { binaryCurves, regressionPoints } from "./evaluation-curves.ts";
import { permutationImportance } from "./permutation-importance.ts";

/** The network of `architecture` and `weights` on `rows` input rows: rows x outputs. */
export type Forward = (
  architecture: ArchitectureJson,
  weights: Uint8Array,
  inputs: Float32Array,
  rows: number,
) => Promise<Float32Array>;

/** null for a version without preprocessing or without test rows. */
export async function evaluateTestSplit(
  db: Pick<Database, "prisma">,
  job: { id: string; versionId: string },
  weights: Uint8Array,
  forward: Forward,
): Promise<Evaluation | null> {
  const version = await db.prisma.modelVersion.findUniqueOrThrow({
    where: { id: job.versionId },
    select: { architecture: true, preprocessing: true },
  });
  if (version.preprocessing === null) return null;
  const test = await db.prisma.trainingData.findUnique({
    where: { jobId_split: { jobId: job.id, split: "test" } },
  });
  if (!test || test.rows === 0) return null;
  const of = `of the version of job ${job.id}`;
  const preprocessing = readStored(
    storedPreprocessingColumn,
    version.preprocessing,
    `preprocessing ${of}`,
  );
  const architecture = readStored(
    storedArchitectureColumn,
    version.architecture,
    `architecture ${of}`,
  );
  const inputs = bytesToFloat32(test.inputs);
  const predict = async (x: Float32Array) => {
    // A copy each time: the pool may take the buffer it is given (transferred to its thread),
    // and the rows are shuffled again for every feature.
    const outputs = await forward(architecture, weights, x.slice(), test.rows);
    return decodeOutputs(preprocessing, outputs, outputs.length / test.rows);
  };
  const { target } = preprocessing;
  if (target.type === "categorical") {
    const truth = bytesToInt32(test.labels!);
    const labelled = (await predict(inputs)) as LabelPrediction[];
    const scores = scoreClassification(
      target.classes,
      truth,
      labelled.map((p) => p.label),
    );
    const accuracyOf = async (x: Float32Array) =>
      scoreClassification(
        target.classes,
        truth,
        ((await predict(x)) as LabelPrediction[]).map((p) => p.label),
      ).accuracy;
    scores.permutationImportance = await permutationImportance(
      preprocessing,
      inputs,
      test.rows,
      scores.accuracy,
      accuracyOf,
    );
    if (target.classes.length !== 2) return scores;
    const positive = target.classes[1] as string;
    const curves = binaryCurves(
      positive,
      labelled.map((p) => p.probabilities[positive] ?? 0),
      Array.from(truth, (t) => t === 1),
    );
    return curves ? { ...scores, curves } : scores;
  }
  const truth = bytesToFloat32(test.targets!);
  const valuesOf = async (x: Float32Array) =>
    (await predict(x)).map((p) => ("value" in p ? p.value : Number.NaN));
  const values = await valuesOf(inputs);
  const scores = scoreRegression(truth, values);
  // Lower error is better: the score is the negated MAE, so importance is the MAE gained.
  scores.permutationImportance = await permutationImportance(
    preprocessing,
    inputs,
    test.rows,
    -scores.mae,
    async (x) => -scoreRegression(truth, await valuesOf(x)).mae,
  );
  return { ...scores, points: regressionPoints(truth, values) };
}

export function scoreClassification(
  classes: readonly string[],
  truth: ArrayLike<number>,
  predicted: readonly string[],
): Extract<Evaluation, { task: "classification" }> {
  const k = classes.length;
  const index = new Map(classes.map((c, i) => [c, i]));
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let r = 0; r < truth.length; r++) {
    const t = truth[r] as number;
    const p = index.get(predicted[r] as string) ?? 0;
    matrix[t]![p]!++;
    if (t === p) correct++;
  }
  const perClass = classes.map((label, c) => {
    const tp = matrix[c]![c]!;
    let predictedAs = 0;
    for (let t = 0; t < k; t++) predictedAs += matrix[t]![c]!;
    const support = matrix[c]!.reduce((a, b) => a + b, 0);
    const precision = predictedAs === 0 ? 0 : tp / predictedAs;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support };
  });
  return {
    task: "classification",
    rows: truth.length,
    accuracy: truth.length === 0 ? 0 : correct / truth.length,
    classes: perClass,
    confusionMatrix: { labels: [...classes], matrix },
  };
}

export function scoreRegression(
  truth: ArrayLike<number>,
  predicted: readonly number[],
): Extract<Evaluation, { task: "regression" }> {
  const n = truth.length;
  let absolute = 0;
  let squared = 0;
  let mean = 0;
  for (let r = 0; r < n; r++) mean += (truth[r] as number) / n;
  let total = 0;
  for (let r = 0; r < n; r++) {
    const error = (predicted[r] as number) - (truth[r] as number);
    absolute += Math.abs(error);
    squared += error * error;
    total += ((truth[r] as number) - mean) ** 2;
  }
  return {
    task: "regression",
    rows: n,
    mae: absolute / n,
    rmse: Math.sqrt(squared / n),
    r2: total === 0 ? null : 1 - squared / total,
  };
}
