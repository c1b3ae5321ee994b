/**
 * A version out of nnserve and back in: as an ONNX model (src/versions/onnx/onnx-export.ts) or as
 * nnserve's portable file (src/versions/model-file-schema.ts), and a portable file imported as a new,
 * ready version. Only ready versions export. An import trusts nothing in the file: the engine
 * re-checks the architecture, the weights must be as many as it has parameters, hash to the
 * file's sha256 and be finite, and the preprocessing must encode to the network's inputs.
 */
import { createHash } from "node:crypto";
import {
  type ArchitectureJson,
  checkArchitecture,
  checkWeightBytes,
  countParameters,
  EngineError,
  loadNetwork,
  NETWORK_FORMAT,
  NETWORK_FORMAT_VERSION,
  type NetworkSpec,
} from "../engine/index.ts";
import { bulkTransactionOptions } from "../platform/db/bulk.ts";
import type { Database } from "../platform/db/client.ts";
import { readStored, toJsonColumn, toStoredJson } from "../platform/db/stored-json.ts";
import {
  type AppError,
  conflict,
  type FieldIssue,
  notFound,
  validationError,
} from "../platform/errors.ts";
import type { DomainEvents } from "../platform/events.ts";
import { recordEvent } from "./aliases/history.ts";
import {
  MODEL_FILE_FORMAT,
  MODEL_FILE_VERSION,
  type ModelFile,
  WEIGHTS_ENCODING,
} from "./model-file-schema.ts";
import { nextVersion } from "./next-version.ts";
import { exportOnnx } from "./onnx/onnx-export.ts";
import { encodedWidth, type Preprocessing } from "./preprocessing/schema.ts";
import type { ModelVersion } from "./schemas.ts";
import {
  storedArchitectureColumn,
  storedEvaluationColumn,
  storedMetricsColumn,
  storedPreprocessingColumn,
} from "./stored-columns.ts";
import { storedTrainingColumn } from "./stored-training.ts";
import { toVersionView } from "./views.ts";

export const ONNX_MEDIA_TYPE = "application/onnx";

export interface ExportedOnnx {
  filename: string;
  content: Uint8Array;
}

export interface ModelFileService {
  /** Throws notFound (model or version) and conflict when the version is not ready. */
  exportOnnx(name: string, version: number): Promise<ExportedOnnx>;
  /** The portable file; the same errors. */
  exportFile(name: string, version: number): Promise<{ filename: string; file: ModelFile }>;
  /** Stores the file as the next version of `name` (created if new), ready; VALIDATION_FAILED per bad field. */
  /** `actor`: the importing API key's prefix for the history (null with AUTH off). */
  importFile(name: string, file: ModelFile, actor?: string | null): Promise<ModelVersion>;
}

export interface ModelFileServiceDeps {
  db: Database;
  /** The largest network accepted, as for training (MAX_PARAMETERS). */
  maxParameters: number;
  /** package.json's version: the ONNX producer_version and the file's nnserveVersion. */
  nnserveVersion: string;
  /** Told `versionReady` after an import, so unversioned predictions move to it. */
  events?: DomainEvents;
}

export function createModelFileService({
  db,
  maxParameters,
  nnserveVersion,
  events,
}: ModelFileServiceDeps): ModelFileService {
  const { prisma } = db;

  return {
    async exportOnnx(name, version) {
      const row = await readyVersion(prisma, name, version);
      const content = exportOnnx({
        model: name,
        version,
        architecture: row.architecture,
        weights: row.weights,
        loss: row.training.loss,
        preprocessing: row.preprocessing,
        producerVersion: nnserveVersion,
      });
      return { filename: `${name}-v${version}.onnx`, content };
    },

    async exportFile(name, version) {
      const row = await readyVersion(prisma, name, version);
      const stored = row.architecture;
      const parameterCount = countParameters(stored);
      const file: ModelFile = {
        format: MODEL_FILE_FORMAT,
        formatVersion: MODEL_FILE_VERSION,
        nnserveVersion,
        exportedAt: new Date().toISOString(),
        source: { model: name, version },
        architecture: {
          format: NETWORK_FORMAT,
          version: NETWORK_FORMAT_VERSION,
          inputs: stored.inputs,
          layers: stored.layers,
          parameterCount,
        },
        training: row.training,
        preprocessing: row.preprocessing,
        evaluation: row.evaluation,
        metrics: row.metrics,
        weights: {
          encoding: WEIGHTS_ENCODING,
          parameterCount,
          sha256: sha256(row.weights),
          data: Buffer.from(row.weights).toString("base64"),
        },
        createdAt: row.createdAt.toISOString(),
        trainedAt: row.trainedAt?.toISOString() ?? null,
      };
      return { filename: `${name}-v${version}.nnserve.json`, file };
    },

    async importFile(name, file, actor = null) {
      const { architecture, weights } = checkModelFile(file, maxParameters);
      const created = await prisma.$transaction(async (tx) => {
        const version = await tx.modelVersion.create({
          data: {
            ...(await nextVersion(tx, name)),
            architecture: toJsonColumn(architecture),
            training: toStoredJson(file.training),
            weights: weights,
            status: "ready",
            // The weights' own training time, where the file knows it.
            trainedAt: file.trainedAt ? new Date(file.trainedAt) : new Date(),
            ...(file.metrics ? { metrics: toStoredJson(file.metrics) } : {}),
            ...(file.preprocessing ? { preprocessing: toJsonColumn(file.preprocessing) } : {}),
            ...(file.evaluation ? { evaluation: toStoredJson(file.evaluation) } : {}),
          },
        });
        await recordEvent(tx, {
          model: name,
          modelId: version.modelId,
          kind: "version_created",
          toVersion: version.version,
          reason: "imported from a model file",
          actor,
        });
        return version;
      }, bulkTransactionOptions(weights.byteLength));
      events?.emit("versionReady", { versionId: created.id });
      return toVersionView({ ...created, jobs: [] });
    },
  };
}

/** A ready version with its stored columns read; notFound or conflict otherwise. */
async function readyVersion(prisma: Database["prisma"], name: string, version: number) {
  const row = await prisma.modelVersion.findFirst({
    where: { model: { name }, version },
    select: {
      version: true,
      status: true,
      architecture: true,
      training: true,
      weights: true,
      metrics: true,
      preprocessing: true,
      evaluation: true,
      createdAt: true,
      trainedAt: true,
    },
  });
  if (!row) {
    const exists = await prisma.model.findUnique({ where: { name }, select: { id: true } });
    if (!exists) throw notFound("model", name);
    throw notFound("model version", `${name}@${version}`);
  }
  if (row.status !== "ready" || !row.weights) {
    throw conflict(
      `Version ${version} of model "${name}" is ${row.status}, not ready; only a trained version exports.`,
    );
  }
  const of = `of ${name}@${version}`;
  const optional = <T>(value: unknown, read: (value: unknown) => T): T | null =>
    value === null ? null : read(value);
  return {
    ...row,
    weights: row.weights,
    architecture: readStored(storedArchitectureColumn, row.architecture, `architecture ${of}`),
    training: readStored(storedTrainingColumn, row.training, `training ${of}`),
    preprocessing: optional(row.preprocessing, (v) =>
      readStored(storedPreprocessingColumn, v, `preprocessing ${of}`),
    ),
    evaluation: optional(row.evaluation, (v) =>
      readStored(storedEvaluationColumn, v, `evaluation ${of}`),
    ),
    metrics: optional(row.metrics, (v) => readStored(storedMetricsColumn, v, `metrics ${of}`)),
  };
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const fail = (path: string, message: string): never => {
  throw validationError([{ path, message }], `Invalid model file: ${path} ${message}.`);
};

/** The engine's "field: message" as a field issue under `under` (its paths are relative). */
function engineIssue(error: EngineError, rename: Record<string, string> = {}): FieldIssue {
  const path = rename[error.field] ?? error.field;
  return { path, message: error.message.slice(error.field.length + 2) };
}

/**
 * Everything an import must hold beyond the schema's shapes, in the order a reader would fix
 * them; returns the architecture to store and the weight bytes.
 */
export function checkModelFile(
  file: ModelFile,
  maxParameters: number,
): { architecture: ArchitectureJson; weights: Uint8Array<ArrayBuffer> } {
  // The engine's own load checks, in two halves so the size limit comes before any allocation.
  const { spec, parameterCount: count } = engineCheck(() => checkArchitecture(file.architecture));
  if (count > maxParameters) {
    fail(
      "architecture.layers",
      `describe ${count} parameters, more than this server's limit of ${maxParameters} (MAX_PARAMETERS)`,
    );
  }
  if (file.weights.parameterCount !== count) {
    fail(
      "weights.parameterCount",
      `is ${file.weights.parameterCount}, but the architecture has ${count} parameters`,
    );
  }
  const weights = new Uint8Array(Buffer.from(file.weights.data, "base64"));
  engineCheck(() => checkWeightBytes(weights, count));
  const digest = sha256(weights);
  if (digest !== file.weights.sha256) {
    fail(
      "weights.sha256",
      `does not match the weights (their sha256 is ${digest}); the file was changed or damaged`,
    );
  }
  const architecture: ArchitectureJson = {
    format: NETWORK_FORMAT,
    version: NETWORK_FORMAT_VERSION,
    inputs: spec.inputs,
    layers: spec.layers,
  };
  const network = engineCheck(() => loadNetwork(architecture, weights));
  // Finite weights can still overflow float32 on the way through (3e38 biases, say) and answer
  // every prediction with NaN: try the plainest rows before storing such a version.
  const probe = new Float32Array(2 * spec.inputs);
  probe.fill(1, spec.inputs);
  const outputs = network.predict(probe, 2);
  if (!outputs.every(Number.isFinite)) {
    fail(
      "weights.data",
      "give non-finite outputs (NaN or Infinity) for an all-zeros and an all-ones input row: the weights overflow float32",
    );
  }
  if (file.preprocessing) checkPreprocessing(file.preprocessing, spec);
  return { architecture, weights };
}

/** Runs an engine check, its EngineError as the file's field issue (weights -> weights.data). */
function engineCheck<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof EngineError) {
      throw invalidFile(engineIssue(error, { weights: "weights.data" }));
    }
    throw error;
  }
}

function checkPreprocessing(preprocessing: Preprocessing, spec: NetworkSpec): void {
  const width = encodedWidth(preprocessing.features);
  if (width !== spec.inputs) {
    fail(
      "preprocessing.features",
      `encode to ${width} input columns, but the network takes ${spec.inputs}`,
    );
  }
  const units = spec.layers.at(-1)?.units ?? 0;
  const { target } = preprocessing;
  if (target.type === "numeric" && units !== 1) {
    fail(
      "preprocessing.target",
      `is the one numeric column "${target.name}", but the network has ${units} output units`,
    );
  }
  if (
    target.type === "categorical" &&
    target.classes.length !== units &&
    !(units === 1 && target.classes.length === 2)
  ) {
    fail(
      "preprocessing.target.classes",
      `has ${target.classes.length} classes, but the network has ${units} output units`,
    );
  }
}

function invalidFile(issue: FieldIssue): AppError {
  return validationError([issue], `Invalid model file: ${issue.path} ${issue.message}.`);
}
