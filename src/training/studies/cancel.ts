/**
 * Stopping a study, under its row lock (a submission round in progress finishes first, so
 * every job it queued is seen here): the study ends (cancelled by its user, or failed when its
 * dataset or model was deleted under it), its open trials become cancelled, the segments in
 * flight are cancelled (queued ones at once, running ones at their next epoch), and
 * study.finished says so. Versions are left as they are: candidates stay pinnable, none wins.
 */
import type { PrismaClient } from "../../generated/prisma/client.ts";
import { conflict, isAppError, notFound } from "../../platform/errors.ts";
import type { TrainingService } from "../contract.ts";
import { appendEvents, notifyStudy } from "./events.ts";
import { bestOf, STUDY_TRANSACTION } from "./reconcile.ts";
import type { TrialStatus } from "./schemas.ts";
import { loadTrials, lockStudy, saveTrials } from "./study-rows.ts";

const OPEN: readonly TrialStatus[] = ["pending", "running", "paused", "promoted"];

export interface StudyStop {
  status: "cancelled" | "failed";
  error?: string;
}

export async function stopStudy(
  prisma: PrismaClient,
  training: TrainingService,
  studyId: string,
  stop: StudyStop = { status: "cancelled" },
): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const ctx = await lockStudy(tx, studyId);
    if (!ctx) throw notFound("study", studyId);
    if (ctx.row.status !== "running") {
      throw conflict(
        `Study "${studyId}" already ended (${ctx.row.status}); there is nothing to cancel.`,
      );
    }
    const trials = await loadTrials(tx, studyId);
    for (const t of trials) {
      if (t.jobId !== null) await cancelJob(training, t.jobId);
      if (OPEN.includes(t.status)) {
        t.status = "cancelled";
        t.dirty = true;
      }
    }
    await saveTrials(tx, studyId, trials);
    await tx.study.update({
      where: { id: studyId },
      data: { status: stop.status, error: stop.error ?? null, finishedAt: new Date() },
    });
    const best = bestOf(ctx);
    await appendEvents(tx, studyId, [
      {
        type: "study.finished",
        status: stop.status,
        trial: best?.trial ?? null,
        metric: best?.metric ?? null,
        epochs: best?.epochs ?? null,
      },
    ]);
    await notifyStudy(tx, studyId);
  }, STUDY_TRANSACTION);
}

/** A segment that already ended (or whose model is gone) has nothing to cancel. */
async function cancelJob(training: TrainingService, jobId: string): Promise<void> {
  try {
    await training.cancel(jobId);
  } catch (error) {
    if (isAppError(error) && (error.code === "CONFLICT" || error.code === "NOT_FOUND")) return;
    throw error;
  }
}
