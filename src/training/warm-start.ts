/**
 * Warm start (`"from": {"model": "churn", "version": 3}`): a new version continues training a
 * ready one. The source's architecture and preprocessing must be the request's (a dataset
 * request fits its preprocessing again: with the source's seed and test split it is the same);
 * its weights, and its optimizer state when stored and the optimizer is the same, are copied
 * into the new version when it is created, so the job does not depend on the source surviving.
 *
 * Epochs: the job trains `training.epochs` more; the weights already had initialEpoch (the
 * source's own initialEpoch plus the epoch its weights come from). Schedules, the shuffling
 * (replayed) and dropout masks count on from there, so with the same seed, data and settings
 * and a constant learning rate, 10 epochs then 10 more equal 20 in one job, bit for bit.
 */
import type { NetworkSpec } from "../engine/index.ts";
import type { Database } from "../platform/db/client.ts";
import { readStored } from "../platform/db/stored-json.ts";
import { type FieldIssue, validationError } from "../platform/errors.ts";
import type { Preprocessing } from "../versions/preprocessing/schema.ts";
import {
  storedArchitectureColumn,
  storedMetricsColumn,
  storedPreprocessingColumn,
} from "../versions/stored-columns.ts";
import { type StoredTraining, storedTrainingColumn } from "../versions/stored-training.ts";
import type { NetworkRequest, ResolvedTrainRequest, TrainRequest } from "./request.ts";

export interface WarmStart {
  model: string;
  version: number;
  architecture: NetworkSpec;
  preprocessing: Preprocessing | null;
  training: StoredTraining;
  weights: Uint8Array;
  optimizerState: Uint8Array | null;
  /** The epochs the source's weights have had. */
  initialEpoch: number;
}

/** The source version, or a 400 naming `from` (unknown, or not ready). */
export async function loadWarmStart(
  db: Database,
  from: NonNullable<TrainRequest["from"]>,
): Promise<WarmStart> {
  const row = await db.prisma.modelVersion.findFirst({
    where: { version: from.version, model: { name: from.model } },
    select: {
      status: true,
      architecture: true,
      preprocessing: true,
      training: true,
      weights: true,
      metrics: true,
      optimizerState: true,
    },
  });
  const fail = (path: string, message: string) =>
    validationError(
      [{ path, message }],
      `Cannot continue from ${from.model} v${from.version}: ${path} ${message}.`,
    );
  if (!row)
    throw fail("from", `names no version: model "${from.model}" has no version ${from.version}`);
  if (row.status !== "ready" || !row.weights) {
    throw fail("from.version", `is ${row.status}; only a ready version can be trained further`);
  }
  const of = `of ${from.model} v${from.version}`;
  const training = readStored(storedTrainingColumn, row.training, `training ${of}`);
  const metrics =
    row.metrics === null ? null : readStored(storedMetricsColumn, row.metrics, `metrics ${of}`);
  return {
    model: from.model,
    version: from.version,
    architecture: readStored(storedArchitectureColumn, row.architecture, `architecture ${of}`),
    preprocessing:
      row.preprocessing === null
        ? null
        : readStored(storedPreprocessingColumn, row.preprocessing, `preprocessing ${of}`),
    training,
    weights: new Uint8Array(row.weights),
    optimizerState: row.optimizerState ? new Uint8Array(row.optimizerState) : null,
    initialEpoch: (training.from?.initialEpoch ?? 0) + (metrics?.epoch ?? 0),
  };
}

/** The source's network as a request's (dropout is the new request's own choice: none). */
export function sourceNetwork(source: WarmStart): NetworkRequest {
  return {
    inputs: source.architecture.inputs,
    layers: source.architecture.layers.map((l) => ({ ...l })),
  };
}

const shape = (n: {
  inputs?: number | undefined;
  layers: readonly { units: number; activation: string }[];
}) =>
  `${n.inputs ?? "?"} inputs → ${n.layers.map((l) => `${l.units} ${l.activation}`).join(" → ")}`;

/** Why the request cannot continue the source: another architecture or preprocessing. */
export function warmStartIssues(
  source: WarmStart,
  req: ResolvedTrainRequest,
  inputs: number,
  preprocessing: Preprocessing | null,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const a = source.architecture;
  const sameLayers =
    a.layers.length === req.network.layers.length &&
    a.layers.every((l, i) => {
      const r = req.network.layers[i]!;
      return (
        l.units === r.units &&
        l.activation === r.activation &&
        (r.alpha === undefined || r.alpha === l.alpha)
      );
    });
  if (!sameLayers || a.inputs !== inputs) {
    issues.push({
      path: "from",
      message: `names a version with another architecture (${shape(a)}; this request: ${shape({ ...req.network, inputs })}); leave out network to continue with the source's`,
    });
  }
  const before = canonical(source.preprocessing);
  const now = canonical(preprocessing);
  if (before !== now) {
    const why =
      source.preprocessing === null
        ? "was trained on inline numbers; this request encodes a dataset"
        : preprocessing === null
          ? "was trained from a dataset; this request sends inline numbers"
          : "encodes its features differently (another dataset, features, seed, test split or preprocessing options)";
    issues.push({ path: "from", message: `has no preprocessing match: the source ${why}` });
  }
  return issues;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}
