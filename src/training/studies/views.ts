/**
 * A study's rows as clients see them (schemas.ts's Study, StudySummary, StudyCurves). Epochs
 * spent count every segment's finished epochs: those recorded on the trials plus the progress
 * of the segments still in flight (or left by a cancel).
 */
import type { PrismaClient, Study as StudyRow } from "../../generated/prisma/client.ts";
import { exhaustiveEpochs } from "./rungs.ts";
import type { Study, StudyCurves, StudySummary, Trial } from "./schemas.ts";
import { segmentCurve } from "./segment-outcomes.ts";
import type { CurvePoint } from "./stored.ts";
import { type StudyContext, type TrialState, toContext } from "./study-rows.ts";

/** The progress (epochs finished) of each job still named by a trial. */
export async function inFlightEpochs(
  prisma: PrismaClient,
  jobIds: readonly string[],
): Promise<Map<string, number>> {
  if (jobIds.length === 0) return new Map();
  const jobs = await prisma.trainingJob.findMany({
    where: { id: { in: [...jobIds] } },
    select: { id: true, epoch: true },
  });
  return new Map(jobs.map((j) => [j.id, j.epoch]));
}

export function epochsSpent(
  trials: readonly Pick<TrialState, "epochsSpent" | "jobId">[],
  inFlight: Map<string, number>,
): number {
  let total = 0;
  for (const t of trials) total += t.epochsSpent + (t.jobId ? (inFlight.get(t.jobId) ?? 0) : 0);
  return total;
}

function toTrialView(t: TrialState): Trial {
  const last = t.results.at(-1);
  return {
    trial: t.trial,
    params: t.params,
    status: t.status,
    epochs: t.epochs,
    metric: last?.metric ?? null,
    version: last?.version ?? null,
    job: t.jobId,
    rungs: t.results.map(({ versionId: _versionId, ...r }) => r),
    error: t.error,
  };
}

function summaryFields(ctx: StudyContext) {
  const { row, stored, rungs, direction } = ctx;
  const { request } = stored;
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    dataset: row.datasetId,
    target: row.target,
    status: row.status,
    objective: { metric: request.objective.metric, direction },
    scheduler: request.scheduler,
    seed: stored.seed,
    budget: request.budget,
    rungs,
    keep: request.keep,
    promote: request.promote ?? null,
    best:
      row.bestTrial !== null && row.bestMetric !== null
        ? {
            trial: row.bestTrial,
            version: row.bestVersion,
            metric: row.bestMetric,
            epochs: row.bestEpochs ?? 0,
          }
        : null,
    epochsIfExhaustive: exhaustiveEpochs(request.budget.trials, request.budget.maxEpochs),
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

export function toStudyView(
  row: StudyRow,
  trials: readonly TrialState[],
  inFlight: Map<string, number>,
): Study {
  const ctx = toContext(row);
  return {
    ...summaryFields(ctx),
    space: ctx.stored.request.space as Record<string, unknown>,
    trials: trials.map(toTrialView),
    epochsSpent: epochsSpent(trials, inFlight),
  };
}

export function toSummaryView(
  row: StudyRow,
  trials: readonly { status: string; epochsSpent: number; jobId: string | null }[],
  inFlight: Map<string, number>,
): StudySummary {
  const trialCounts: Record<string, number> = {};
  for (const t of trials) trialCounts[t.status] = (trialCounts[t.status] ?? 0) + 1;
  return {
    ...summaryFields(toContext(row)),
    trialCounts,
    epochsSpent: epochsSpent(trials, inFlight),
  };
}

/** Every trial's recorded curve, and the epochs its segment in flight has trained so far. */
export async function toCurvesView(
  prisma: PrismaClient,
  trials: readonly TrialState[],
  curves: Map<number, CurvePoint[]>,
): Promise<StudyCurves> {
  const out: StudyCurves = { trials: [] };
  for (const t of trials) {
    const recorded = curves.get(t.trial) ?? [];
    const live = t.jobId ? await segmentCurve(prisma, t.jobId, t.epochs) : [];
    // A finished segment not yet recorded is not appended twice: recorded points come first.
    const last = recorded.at(-1)?.epoch ?? 0;
    out.trials.push({
      trial: t.trial,
      status: t.status,
      points: [...recorded, ...live.filter((p) => p.epoch > last)],
    });
  }
  return out;
}
