/**
 * Decided segments become jobs. Under the study's row lock (so a cancel waits for this and then
 * sees every job it must cancel, and nothing is queued after it), each trial whose segment is
 * decided but has no job is submitted through TrainingService.submit with the idempotency key
 * `study:<id>:trial:<n>:segment:<k>`, and the job's id is stored. After a crash between the
 * submit and the store, the same key returns the same job: a segment is queued exactly once.
 *
 * A submission the service refuses for good (the dataset or the previous version is gone: a
 * 4xx) fails the trial; the submitter's job limit (429) leaves it for a later round; anything
 * else (the database) is thrown and the round is tried again.
 */
import type { PrismaClient } from "../../generated/prisma/client.ts";
import { isAppError } from "../../platform/errors.ts";
import type { Submitter, TrainingService } from "../contract.ts";
import { appendEvents, type EventInput, notifyStudy } from "./events.ts";
import { awaitingSubmission, STUDY_TRANSACTION } from "./reconcile.ts";
import {
  loadTrials,
  lockStudy,
  type StudyContext,
  saveTrials,
  type TrialState,
} from "./study-rows.ts";
import { trialRequest } from "./trial-request.ts";

export interface Submitted {
  submitted: number;
  failed: number;
  /** Left for a later round: the submitter's job limit is reached. */
  waiting: number;
}

export function segmentKey(studyId: string, trial: number, segment: number): string {
  return `study:${studyId}:trial:${trial}:segment:${segment}`;
}

export async function submitSegments(
  prisma: PrismaClient,
  training: TrainingService,
  studyId: string,
): Promise<Submitted> {
  return prisma.$transaction(async (tx) => {
    const out: Submitted = { submitted: 0, failed: 0, waiting: 0 };
    const ctx = await lockStudy(tx, studyId);
    if (ctx?.row.status !== "running") return out;
    const trials = await loadTrials(tx, studyId);
    const events: EventInput[] = [];
    const pending = awaitingSubmission(trials);
    for (const [i, t] of pending.entries()) {
      const outcome = await submitOne(ctx, training, t);
      if (outcome === "waiting") {
        out.waiting = pending.length - i;
        break;
      }
      if (outcome === "submitted") out.submitted++;
      else {
        out.failed++;
        events.push({ type: "trial.failed", trial: t.trial, rung: t.segment, epochs: t.epochs });
        t.status = "failed";
        t.error = outcome.error;
        t.segment = null;
        t.dirty = true;
      }
    }
    await saveTrials(tx, studyId, trials);
    await appendEvents(tx, studyId, events);
    // A failed trial frees a slot: wake the conductors to decide again.
    if (events.length > 0) await notifyStudy(tx, studyId);
    return out;
  }, STUDY_TRANSACTION);
}

function submitterOf(ctx: StudyContext): Submitter | undefined {
  const { apiKeyId, submitterPrefix } = ctx.row;
  return apiKeyId ? { keyId: apiKeyId, prefix: submitterPrefix ?? "" } : undefined;
}

async function submitOne(
  ctx: StudyContext,
  training: TrainingService,
  t: TrialState,
): Promise<"submitted" | "waiting" | { error: string }> {
  const segment = t.segment!;
  const previous = t.results.at(-1);
  if (segment > 0 && (previous?.version ?? null) === null) {
    return { error: `the version of rung ${segment - 1} to continue from is gone` };
  }
  const request = trialRequest(ctx.stored, {
    trial: t.trial,
    params: t.params,
    toEpochs: ctx.rungs[segment]!,
    fromEpochs: t.epochs,
    from: segment > 0 ? { model: ctx.row.model, version: previous!.version! } : undefined,
  });
  try {
    const submitter = submitterOf(ctx);
    const { job } = await training.submit(request, {
      idempotencyKey: segmentKey(ctx.row.id, t.trial, segment),
      studyId: ctx.row.id,
      ...(submitter ? { submitter } : {}),
    });
    t.jobId = job.id;
    t.dirty = true;
    return "submitted";
  } catch (error) {
    if (!isAppError(error)) throw error;
    if (error.code === "TOO_MANY_REQUESTS") return "waiting";
    if (error.statusCode >= 500) throw error;
    const field = error.errors[0];
    return { error: field ? `${error.message} (${field.path} ${field.message})` : error.message };
  }
}
