/**
 * What the segments in flight came to, recorded on their trials: a succeeded segment adds its
 * rung's result (the objective from the version's final metrics) and its epochs to the curve,
 * and may change the best; a failed, cancelled or vanished one fails its trial (the study goes
 * on). Queued and running segments are left alone.
 */
import type { JobStatus, Prisma } from "../../generated/prisma/client.ts";
import { readStored } from "../../platform/db/stored-json.ts";
import { storedMetricsColumn } from "../../versions/stored-columns.ts";
import { compareResults } from "./asha.ts";
import type { EventInput } from "./events.ts";
import type { CurvePoint } from "./stored.ts";
import type { StudyContext, TrialState } from "./study-rows.ts";

export interface Best {
  trial: number;
  metric: number;
  version: number | null;
  epochs: number;
}

type Tx = Prisma.TransactionClient;

interface SegmentJob {
  id: string;
  status: JobStatus;
  /** Epochs it trained (its progress). */
  epoch: number;
  /** Epochs it was asked for: all trained once it succeeded (a study never stops early). */
  epochs: number;
  error: string | null;
  version: { id: string; version: number; metrics: Prisma.JsonValue };
}

async function readSegmentJobs(tx: Tx, ids: string[]): Promise<Map<string, SegmentJob>> {
  const jobs = await tx.trainingJob.findMany({
    where: { id: { in: ids } },
    select: {
      id: true,
      status: true,
      epoch: true,
      epochs: true,
      error: true,
      version: { select: { id: true, version: true, metrics: true } },
    },
  });
  return new Map(jobs.map((j) => [j.id, j]));
}

const finite = (v: number | null) => (v !== null && Number.isFinite(v) ? v : null);

/** The job's epochs as the trial's, numbered on from the epochs it already had. */
export async function segmentCurve(
  db: Pick<Tx, "epochMetric">,
  jobId: string,
  offset: number,
): Promise<CurvePoint[]> {
  const rows = await db.epochMetric.findMany({ where: { jobId }, orderBy: { epoch: "asc" } });
  return rows.map((m) => ({
    epoch: offset + m.epoch,
    loss: finite(m.loss),
    valLoss: finite(m.valLoss),
    accuracy: finite(m.accuracy),
    valAccuracy: finite(m.valAccuracy),
    mae: finite(m.mae),
    valMae: finite(m.valMae),
  }));
}

/**
 * Whether a result beats the best so far: one judged after more epochs always does (the
 * highest rung reached is where trials are compared, as in Hyperband and ASHA's papers); at
 * the same epochs the better metric does, lower trial numbers winning ties as in asha.ts. A
 * 3-epoch result that is luckier on a small validation set than the 81-epoch ones is not the
 * model to keep (bench:study saw exactly that on breast_cancer).
 */
export function beats(ctx: StudyContext, candidate: Best, best: Best | null): boolean {
  if (best === null) return true;
  if (candidate.epochs !== best.epochs) return candidate.epochs > best.epochs;
  return compareResults(ctx.direction)(candidate, best) < 0;
}

export async function recordOutcomes(
  tx: Tx,
  ctx: StudyContext,
  trials: TrialState[],
  events: EventInput[],
  best: Best | null,
): Promise<Best | null> {
  const inFlight = trials.filter((t) => t.jobId !== null);
  if (inFlight.length === 0) return best;
  const jobs = await readSegmentJobs(
    tx,
    inFlight.map((t) => t.jobId!),
  );
  for (const t of inFlight) {
    const job = jobs.get(t.jobId!);
    if (job && (job.status === "queued" || job.status === "running")) continue;
    if (job?.status === "succeeded") {
      best = await succeeded(tx, ctx, t, job, events, best);
    } else {
      await failed(tx, t, job, events);
    }
  }
  return best;
}

async function succeeded(
  tx: Tx,
  ctx: StudyContext,
  t: TrialState,
  job: SegmentJob,
  events: EventInput[],
  best: Best | null,
): Promise<Best | null> {
  const rung = t.segment ?? t.results.length;
  const metrics =
    job.version.metrics === null
      ? {}
      : readStored(storedMetricsColumn, job.version.metrics, `metrics of job ${job.id}`);
  const metric = finite(metrics[ctx.stored.request.objective.metric] ?? null);
  t.newPoints.push(...(await segmentCurve(tx, job.id, t.epochs)));
  t.epochs += job.epochs;
  t.epochsSpent += job.epochs;
  const version = job.version.version;
  t.results.push({ rung, epochs: t.epochs, metric, version, versionId: job.version.id });
  const top = rung >= ctx.rungs.length - 1;
  t.status = top ? "completed" : "paused";
  t.jobId = null;
  t.segment = null;
  t.dirty = true;
  const facts = { trial: t.trial, rung, epochs: t.epochs, metric, version };
  events.push({ type: "rung.reached", ...facts });
  if (top) events.push({ type: "trial.completed", ...facts });
  if (metric !== null) {
    const candidate = { trial: t.trial, metric, version, epochs: t.epochs };
    if (beats(ctx, candidate, best)) {
      events.push({ type: "best.changed", ...facts });
      return candidate;
    }
  }
  return best;
}

async function failed(tx: Tx, t: TrialState, job: SegmentJob | undefined, events: EventInput[]) {
  if (job) {
    t.newPoints.push(...(await segmentCurve(tx, job.id, t.epochs)));
    t.epochsSpent += job.epoch;
  }
  t.error = !job
    ? "its segment's job no longer exists (the model or the version was deleted)"
    : job.status === "cancelled"
      ? `its segment's job ${job.id} was cancelled`
      : (job.error ?? `its segment's job ${job.id} failed`);
  events.push({ type: "trial.failed", trial: t.trial, rung: t.segment, epochs: t.epochs });
  t.status = "failed";
  t.jobId = null;
  t.segment = null;
  t.dirty = true;
}
