/**
 * Training on Postgres: submitting a job (model, version, job and its examples in one
 * transaction, with the API key that submitted it and that key's job limit), reading jobs and
 * their epochs, and cancelling.
 */
import { createHash, randomInt } from "node:crypto";
import type { DatasetService } from "../datasets/service.ts";
import { type ArchitectureJson, NETWORK_FORMAT, NETWORK_FORMAT_VERSION } from "../engine/index.ts";
import { Prisma } from "../generated/prisma/client.ts";
import { pageAfter, toPage } from "../platform/cursor.ts";
import { float32ToBytes, int32ToBytes } from "../platform/db/binary.ts";
import { bulkTransactionOptions } from "../platform/db/bulk.ts";
import type { Database } from "../platform/db/client.ts";
import { toJsonColumn, toStoredJson } from "../platform/db/stored-json.ts";
import {
  AppError,
  conflict,
  idempotencyKeyReused,
  isAppError,
  notFound,
  tooManyJobs,
  validationError,
} from "../platform/errors.ts";
import { recordEvent } from "../versions/aliases/history.ts";
import { nextVersion } from "../versions/next-version.ts";
import type { Preprocessing } from "../versions/preprocessing/schema.ts";
import type { SubmitOptions, SubmitResult, Submitter, TrainingService } from "./contract.ts";
import { prepareDatasetTraining } from "./dataset-training.ts";
import { checkWithEngine } from "./engine-check.ts";
import { createJob, type TrainingDataInput, trainingDataBytes } from "./jobs/create-job.ts";
import type { JobQueue } from "./jobs/job-queue.ts";
import { jobWithVersion, toJobView } from "./jobs/job-view.ts";
import type { JobListQuery } from "./jobs/schemas.ts";
import { labelTargets } from "./label-targets.ts";
import {
  DEFAULT_REQUEST_OPTIMIZER,
  type ResolvedTrainRequest,
  resolveClassWeights,
  type TrainRequest,
} from "./request.ts";
import { toStoredTraining } from "./stored-training.ts";
import { loadWarmStart, type WarmStart, warmStartIssues } from "./warm-start.ts";

export interface TrainingServiceDeps {
  db: Database;
  queue: JobQueue;
  /** Where `dataset` requests read their rows; without it, they are refused. */
  datasets?: DatasetService;
  /** The parameter budget, checked again once a dataset's encoded width is known. */
  maxParameters?: number;
  /** A dataset's encoded width (MAX_UNITS) and rows x width (MAX_ENCODED_VALUES) at most. */
  maxInputs?: number;
  maxEncodedValues?: number;
  maxAttempts: number;
  /** Default time budget of a job's attempt, in seconds (JOB_MAX_SECONDS); unset: none. */
  maxJobSeconds?: number;
  /** Queued or running jobs one submitter (API key) may have; 0 (the default): no limit. */
  maxQueuedJobsPerKey?: number;
}

export function createTrainingService({
  db,
  queue,
  maxAttempts,
  maxQueuedJobsPerKey = 0,
  datasets,
  maxParameters = Number.MAX_SAFE_INTEGER,
  maxInputs,
  maxEncodedValues,
  maxJobSeconds,
}: TrainingServiceDeps): TrainingService {
  const { prisma } = db;

  async function findJob(id: string) {
    const row = await prisma.trainingJob.findUnique({ where: { id }, include: jobWithVersion });
    if (!row) throw notFound("job", id);
    return row;
  }

  return {
    async submit(request: TrainRequest, options: SubmitOptions = {}) {
      const { idempotencyKey, submitter, studyId } = options;
      const requestHash = idempotencyKey ? hashRequest(request) : undefined;
      if (idempotencyKey && requestHash) {
        const earlier = await replay(prisma, idempotencyKey, requestHash);
        if (earlier) return earlier;
      }
      const { req, seed, fromDataset, source, architecture, classWeights, data } =
        await prepareSubmission(db, datasets, request, {
          maxParameters,
          maxInputs,
          maxEncodedValues,
        });
      try {
        // The view is of the job as created: once committed, a worker may claim it before a
        // second read, and the 202 would say "running" for a job the client has just queued.
        const job = await prisma.$transaction(
          async (tx) => {
            // The key's lock first, the model's second: every submission takes them in this order.
            if (submitter && maxQueuedJobsPerKey > 0) {
              await reserveJobSlot(tx, submitter, maxQueuedJobsPerKey);
            }
            return createVersionAndJob(tx, req, {
              architecture,
              seed,
              fromDataset,
              data,
              classWeights,
              source,
              maxAttempts,
              timeBudgetSeconds: req.training.timeBudgetSeconds ?? maxJobSeconds ?? null,
              idempotencyKey,
              requestHash,
              submitter,
              studyId,
            });
          },
          bulkTransactionOptions(trainingDataBytes(data)),
        );
        return { job, created: true };
      } catch (error) {
        // Two requests with one new idempotency key raced: the loser answers with the winner's
        // job. It lost on the unique key or, having waited for the API key's lock, found the
        // winner's job filling the key's limit.
        if (
          idempotencyKey &&
          requestHash &&
          (isUniqueViolation(error) || (isAppError(error) && error.code === "TOO_MANY_REQUESTS"))
        ) {
          const earlier = await replay(prisma, idempotencyKey, requestHash);
          if (earlier) return earlier;
        }
        throw error;
      }
    },

    async getJob(id) {
      return toJobView(await findJob(id));
    },

    async listJobs(query: JobListQuery) {
      const { where, orderBy } = pageAfter(query.cursor);
      const rows = await prisma.trainingJob.findMany({
        where: {
          ...(query.status ? { status: query.status } : {}),
          ...(query.model ? { version: { model: { name: query.model } } } : {}),
          ...where,
        },
        orderBy,
        take: query.limit + 1,
        include: jobWithVersion,
      });
      return toPage(rows, query.limit, toJobView);
    },

    async jobMetrics(id, afterEpoch = 0) {
      const job = await prisma.trainingJob.findUnique({
        where: { id },
        select: {
          epochMetrics: { where: { epoch: { gt: afterEpoch } }, orderBy: { epoch: "asc" } },
        },
      });
      if (!job) throw notFound("job", id);
      return {
        jobId: id,
        epochs: job.epochMetrics.map(toEpochView),
      };
    },

    async cancel(id) {
      const result = await queue.cancelJob(id);
      if (result.outcome === "notFound") throw notFound("job", id);
      if (result.outcome === "alreadyFinished") {
        throw conflict(`Job "${id}" already ended (${result.status}); there is nothing to cancel.`);
      }
      return toJobView(await findJob(id));
    },
  };
}

/**
 * A request made whole before the transaction (which holds the model's lock only to write): the
 * warm start's source, the seed, the dataset read and fitted, the network, loss, optimizer and
 * training settings resolved and checked, the class weights and the rows to store.
 */
async function prepareSubmission(
  db: Database,
  datasets: DatasetService | undefined,
  request: TrainRequest,
  limits: {
    maxParameters: number;
    maxInputs?: number | undefined;
    maxEncodedValues?: number | undefined;
  },
) {
  const source = request.from ? await loadWarmStart(db, request.from) : undefined;
  // A seed is always recorded, so every version can be trained again bit for bit; a warm
  // start keeps its source's, so the data splits and shuffles as the source's did.
  const seed = request.training?.seed ?? source?.training.seed ?? randomInt(0, 2 ** 31 - 1);
  const fromDataset =
    request.dataset === undefined
      ? undefined
      : await prepare(datasets, request, seed, { ...limits, source });
  const req = fromDataset?.request ?? inlineRequest(request);
  const inputs = fromDataset?.inputs ?? (req.network.inputs as number);
  if (source) checkWarmStart(source, req, inputs, fromDataset?.preprocessing ?? null);
  const architecture = architectureOf(req, inputs);
  checkWithEngine({ network: architecture, optimizer: req.optimizer }, inputs);
  const classWeights = fromDataset ? fromDataset.classWeights : inlineClassWeights(req);
  const data = fromDataset?.data ?? [toStoredExamples(req)];
  return { req, seed, fromDataset, source, architecture, classWeights, data };
}

/** The job an earlier request with this key created; idempotencyKeyReused for another body. */
async function replay(
  prisma: Database["prisma"],
  idempotencyKey: string,
  requestHash: string,
): Promise<SubmitResult | undefined> {
  const row = await prisma.trainingJob.findUnique({
    where: { idempotencyKey },
    include: jobWithVersion,
  });
  if (!row) return undefined;
  if (row.requestHash !== requestHash) throw idempotencyKeyReused();
  return { job: toJobView(row), created: false };
}

/** A dataset request: the dataset loaded, split, fitted and encoded for the network. */
async function prepare(
  datasets: DatasetService | undefined,
  req: TrainRequest,
  seed: number,
  limits: {
    maxParameters: number;
    maxInputs?: number | undefined;
    maxEncodedValues?: number | undefined;
    source: WarmStart | undefined;
  },
) {
  const id = req.dataset as string;
  const dataset = await datasets?.load(id).catch((error: unknown) => {
    if (isAppError(error) && error.code === "NOT_FOUND") return undefined;
    throw error;
  });
  if (!dataset) {
    throw validationError(
      [{ path: "dataset", message: `no dataset with id "${id}" exists` }],
      `No dataset "${id}" exists; upload it with POST /datasets first.`,
    );
  }
  const { source, ...sizes } = limits;
  return prepareDatasetTraining(dataset, req, seed, sizes, source);
}

/** The network the version predicts with, `inputs` wide. */
function architectureOf(req: ResolvedTrainRequest, inputs: number): ArchitectureJson {
  return {
    format: NETWORK_FORMAT,
    version: NETWORK_FORMAT_VERSION,
    inputs,
    // Dropout is a training setting (stored with them), not part of the predicting network.
    layers: req.network.layers.map(({ dropout: _dropout, ...layer }) => layer),
  };
}

/** A warm start whose source does not fit the request: a 400 naming the fields. */
function checkWarmStart(
  source: WarmStart,
  req: ResolvedTrainRequest,
  inputs: number,
  preprocessing: Preprocessing | null,
): void {
  const issues = warmStartIssues(source, req, inputs, preprocessing);
  if (issues.length > 0) {
    throw validationError(
      issues,
      `Cannot continue from ${source.model} v${source.version}: ${issues[0]!.message}.`,
    );
  }
}

/**
 * Where a warm start begins: the source's state goes on only into the same optimizer (otherwise
 * it starts afresh), and `from` records the source on the new version.
 */
function warmStartPoint(source: WarmStart | undefined, req: ResolvedTrainRequest) {
  if (!source) return { state: null, from: undefined };
  const state =
    source.optimizerState && source.training.optimizer.name === req.optimizer.name
      ? source.optimizerState
      : null;
  const from = {
    model: source.model,
    version: source.version,
    initialEpoch: source.initialEpoch,
    optimizerState: state !== null,
  };
  return { state, from };
}

/** The version (architecture, training, preprocessing) and its queued job, in `tx`. */
async function createVersionAndJob(
  tx: Prisma.TransactionClient,
  req: ResolvedTrainRequest,
  o: {
    architecture: ArchitectureJson;
    seed: number;
    fromDataset: Awaited<ReturnType<typeof prepareDatasetTraining>> | undefined;
    data: TrainingDataInput[];
    classWeights: number[] | undefined;
    source: WarmStart | undefined;
    maxAttempts: number | undefined;
    timeBudgetSeconds: number | null;
    idempotencyKey: string | undefined;
    requestHash: string | undefined;
    submitter: Submitter | undefined;
    studyId: string | undefined;
  },
) {
  const { fromDataset, classWeights, source } = o;
  const { state, from } = warmStartPoint(source, req);
  const version = await tx.modelVersion.create({
    data: {
      ...(await nextVersion(tx, req.model)),
      architecture: toJsonColumn(o.architecture),
      training: toStoredJson(
        toStoredTraining(req, o.seed, fromDataset?.labels, {
          ...(classWeights ? { classWeights } : {}),
          ...(from ? { from } : {}),
        }),
      ),
      // A warm start's starting point, read by the job (training-task.ts) and replaced by the
      // trained weights when it succeeds.
      ...(source
        ? {
            weights: Buffer.from(source.weights),
            ...(state ? { optimizerState: Buffer.from(state) } : {}),
          }
        : {}),
      ...(fromDataset ? { preprocessing: toJsonColumn(fromDataset.preprocessing) } : {}),
      ...(o.studyId ? { studyId: o.studyId } : {}),
    },
  });
  const job = await createJob(tx, {
    versionId: version.id,
    epochs: req.training.epochs,
    maxAttempts: o.maxAttempts,
    timeBudgetSeconds: o.timeBudgetSeconds,
    idempotencyKey: o.idempotencyKey ?? null,
    requestHash: o.requestHash ?? null,
    apiKeyId: o.submitter?.keyId ?? null,
    data: o.data,
  });
  await recordEvent(tx, {
    model: req.model,
    modelId: version.modelId,
    kind: "version_created",
    toVersion: version.version,
    jobId: job.id,
    actor: o.submitter?.prefix ?? null,
  });
  return toJobView({
    ...job,
    version: { version: version.version, metrics: null, model: { name: req.model } },
  });
}

/** One epoch_metrics row as the view: the measured metrics only, non-finite loss as null. */
function toEpochView(m: {
  epoch: number;
  loss: number;
  valLoss: number | null;
  accuracy: number | null;
  valAccuracy: number | null;
  mae: number | null;
  valMae: number | null;
  learningRate: number | null;
  durationMs: number;
}) {
  return {
    epoch: m.epoch,
    loss: Number.isFinite(m.loss) ? m.loss : null,
    ...measured({
      valLoss: m.valLoss,
      accuracy: m.accuracy,
      valAccuracy: m.valAccuracy,
      mae: m.mae,
      valMae: m.valMae,
      learningRate: m.learningRate,
    }),
    durationMs: m.durationMs,
  };
}

/**
 * The per-key job limit without a race: the key's row stays locked until the submitting
 * transaction ends, so a concurrent submission with the same key waits here, and its count
 * (READ COMMITTED: a statement sees all that committed before it began) includes this job.
 */
async function reserveJobSlot(
  tx: Prisma.TransactionClient,
  submitter: Submitter,
  limit: number,
): Promise<void> {
  const locked = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM api_keys WHERE id = ${submitter.keyId}::uuid FOR UPDATE`;
  if (locked.length === 0) {
    throw new AppError("UNAUTHENTICATED", "The API key is not valid (unknown or revoked).");
  }
  const active = await tx.trainingJob.count({
    where: { apiKeyId: submitter.keyId, status: { in: ["queued", "running"] } },
  });
  if (active >= limit) throw tooManyJobs(submitter.prefix, active, limit);
}

/** Leaves out what was not measured (null columns); a non-finite value reads as null. */
function measured<K extends string>(values: Record<K, number | null>) {
  const out: Partial<Record<K, number | null>> = {};
  for (const [key, value] of Object.entries(values) as [K, number | null][]) {
    if (value !== null) out[key] = Number.isFinite(value) ? value : null;
  }
  return out;
}

/** An inline request: the schema has made sure it has a network, loss and training settings. */
function inlineRequest(req: TrainRequest): ResolvedTrainRequest {
  return {
    ...req,
    network: req.network as ResolvedTrainRequest["network"],
    loss: req.loss as ResolvedTrainRequest["loss"],
    training: req.training as ResolvedTrainRequest["training"],
    optimizer: req.optimizer ?? DEFAULT_REQUEST_OPTIMIZER,
  };
}

function toStoredExamples(req: ResolvedTrainRequest): TrainingDataInput {
  // The schema has made sure inline requests carry both.
  const { inputs, targets, labels } = req.data!;
  const width = req.network.inputs!;
  const x = new Float32Array(inputs.length * width);
  for (let i = 0; i < inputs.length; i++) x.set(inputs[i]!, i * width);
  const stored: TrainingDataInput = {
    rows: inputs.length,
    inputWidth: width,
    inputs: float32ToBytes(x),
  };
  if (req.loss === "sparseCategoricalCrossentropy" && labels) {
    stored.labels = int32ToBytes(Int32Array.from(labels));
    return stored;
  }
  if (!targets) {
    const { width, values } = labelTargets(labels ?? [], req.network.layers.at(-1)?.units ?? 1);
    stored.targetWidth = width;
    stored.targets = float32ToBytes(values);
    return stored;
  }
  const targetWidth = targets[0]?.length ?? 1;
  const t = new Float32Array(targets.length * targetWidth);
  for (let i = 0; i < targets.length; i++) t.set(targets[i]!, i * targetWidth);
  stored.targetWidth = targetWidth;
  stored.targets = float32ToBytes(t);
  return stored;
}

/** Inline classes are indices: the labels given, or the argmax of each one-hot target row. */
function inlineClassWeights(req: ResolvedTrainRequest): number[] | undefined {
  const requested = req.training.classWeights;
  if (requested === undefined || !req.data) return undefined;
  const units = req.network.layers.at(-1)?.units ?? 1;
  const classes = units === 1 ? 2 : units;
  const names = Array.from({ length: classes }, (_, i) => String(i));
  const labels =
    req.data.labels ??
    (req.data.targets ?? []).map((row) =>
      units === 1 ? (row[0]! >= 0.5 ? 1 : 0) : row.indexOf(Math.max(...row)),
    );
  return resolveClassWeights(requested, names, labels);
}

/** The request as parsed (defaults filled), hashed in a stable key order. */
function hashRequest(req: TrainRequest): string {
  return createHash("sha256").update(stableJson(req)).digest("hex");
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}
