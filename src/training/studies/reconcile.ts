/**
 * One decision round of one study, in one transaction under the study's row lock: what the
 * segments in flight came to (segment-outcomes.ts), then ASHA's decisions (asha.ts) applied as
 * intents (a trial to start or promote gets its segment number and no job yet: the conductor
 * submits it next, with an idempotency key), then the end when nothing is left to run
 * (finalize.ts). Every event of the round is written in the same transaction, so however many
 * replicas reconcile the same study at the same moment, each decision and event happens once:
 * the second waits for the lock and finds the first one's state.
 */
import type { Prisma, PrismaClient } from "../../generated/prisma/client.ts";
import { type AshaAction, decide } from "./asha.ts";
import { appendEvents, type EventInput, notifyStudy } from "./events.ts";
import { finalizeStudy } from "./finalize.ts";
import { type Best, recordOutcomes } from "./segment-outcomes.ts";
import {
  loadTrials,
  lockStudy,
  type StudyContext,
  saveTrials,
  type TrialState,
} from "./study-rows.ts";

export interface Reconciled {
  /** The study is (still) running. */
  running: boolean;
  /** Trials that wait for their segment's job to be submitted. */
  toSubmit: number;
  events: number;
  /** A model whose routing changed (the study ended and a winner was cleared or promoted). */
  routingChanged: string | null;
  /** Why the study cannot go on (its dataset or model was deleted): stop it as failed. */
  stop: string | null;
}

const NOTHING: Reconciled = {
  running: false,
  toSubmit: 0,
  events: 0,
  routingChanged: null,
  stop: null,
};

/** Long enough for a study's end, which may delete many candidate versions. */
export const STUDY_TRANSACTION = { maxWait: 30_000, timeout: 120_000 };

export function bestOf(ctx: StudyContext): Best | null {
  const { row } = ctx;
  if (row.bestTrial === null || row.bestMetric === null) return null;
  return {
    trial: row.bestTrial,
    metric: row.bestMetric,
    version: row.bestVersion,
    epochs: row.bestEpochs ?? 0,
  };
}

export async function reconcileStudy(prisma: PrismaClient, studyId: string): Promise<Reconciled> {
  return prisma.$transaction(async (tx) => {
    const ctx = await lockStudy(tx, studyId);
    if (ctx?.row.status !== "running") return NOTHING;
    const trials = await loadTrials(tx, studyId);
    const stop = await lostInputs(tx, ctx, trials);
    if (stop) return { ...NOTHING, running: true, stop };
    const events: EventInput[] = [];
    const before = bestOf(ctx);
    const best = await recordOutcomes(tx, ctx, trials, events, before);
    const { budget } = ctx.stored.request;
    const decision = decide({
      trials: trials.map((t) => ({
        trial: t.trial,
        status: t.status,
        results: t.results.map((r) => r.metric),
      })),
      rungs: ctx.rungs,
      eta: budget.reductionFactor,
      direction: ctx.direction,
      maxConcurrent: budget.maxConcurrent,
    });
    for (const action of decision.actions) apply(action, trials, events);
    const data: Prisma.StudyUpdateInput = {};
    if (best !== before && best !== null) {
      Object.assign(data, {
        bestTrial: best.trial,
        bestMetric: best.metric,
        bestVersion: best.version,
        bestEpochs: best.epochs,
      });
    }
    let routingChanged: string | null = null;
    if (decision.finished) {
      const end = await finalizeStudy(tx, ctx, trials, best, events);
      Object.assign(data, { status: end.status, error: end.error, finishedAt: new Date() });
      routingChanged = end.routingChanged;
    }
    await saveTrials(tx, studyId, trials);
    if (Object.keys(data).length > 0) await tx.study.update({ where: { id: studyId }, data });
    await appendEvents(tx, studyId, events);
    if (events.length > 0) await notifyStudy(tx, studyId);
    return {
      running: !decision.finished,
      toSubmit: decision.finished ? 0 : awaitingSubmission(trials).length,
      events: events.length,
      routingChanged,
      stop: null,
    };
  }, STUDY_TRANSACTION);
}

/**
 * The dataset deleted (its id set null), or the model deleted once segments had been queued
 * (their jobs went with it): no further segment could train, so the study stops as failed
 * rather than failing trial by trial (or re-creating the model with its next trial).
 */
async function lostInputs(
  tx: Prisma.TransactionClient,
  ctx: StudyContext,
  trials: readonly TrialState[],
): Promise<string | null> {
  const { row } = ctx;
  if (row.datasetId === null) return "its dataset was deleted during the study";
  const submitted = trials.some((t) => t.jobId !== null || t.results.length > 0);
  if (!submitted) return null;
  const model = await tx.model.findUnique({ where: { name: row.model }, select: { id: true } });
  return model ? null : `its model "${row.model}" was deleted during the study`;
}

/** Trials whose segment is decided but not yet a job. */
export function awaitingSubmission(trials: readonly TrialState[]): TrialState[] {
  return trials.filter(
    (t) =>
      (t.status === "running" || t.status === "promoted") && t.segment !== null && t.jobId === null,
  );
}

function apply(action: AshaAction, trials: TrialState[], events: EventInput[]): void {
  const t = trials.find((x) => x.trial === action.trial);
  if (!t) return;
  t.dirty = true;
  if (action.type === "start") {
    t.status = "running";
    t.segment = 0;
    t.jobId = null;
    events.push({ type: "trial.started", trial: t.trial, rung: 0, epochs: 0 });
  } else if (action.type === "promote") {
    t.status = "promoted";
    t.segment = action.toRung;
    t.jobId = null;
    const last = t.results.at(-1);
    events.push({
      type: "trial.promoted",
      trial: t.trial,
      rung: action.toRung,
      epochs: t.epochs,
      metric: last?.metric ?? null,
      version: last?.version ?? null,
    });
  } else {
    t.status = "pruned";
    const result = t.results[action.rung];
    events.push({
      type: "trial.pruned",
      trial: t.trial,
      rung: action.rung,
      epochs: t.epochs,
      metric: result?.metric ?? null,
      version: result?.version ?? null,
    });
  }
}
