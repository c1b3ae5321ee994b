/**
 * Reading and writing a study's rows: the study (locked for a decision), its trials as mutable
 * states (written back when changed), with their JSON columns read through stored.ts. The
 * curves (every epoch of every trial, the bulk of a study) are not read for decisions: new
 * points are appended in SQL, and only the curves view reads them.
 */
import type {
  Prisma,
  PrismaClient,
  Study as StudyRow,
  StudyTrial as TrialRow,
} from "../../generated/prisma/client.ts";
import { readStored, toStoredJson } from "../../platform/db/stored-json.ts";
import { rungEpochs } from "./rungs.ts";
import { type Direction, METRIC_DIRECTION, type TrialParams, type TrialStatus } from "./schemas.ts";
import {
  type CurvePoint,
  type RungRecord,
  type StoredStudyRequest,
  storedStudyRequest,
  storedTrialCurve,
  storedTrialParams,
  storedTrialResults,
} from "./stored.ts";

type Reader = Prisma.TransactionClient | PrismaClient;

/** A study row with what its request says, read once. */
export interface StudyContext {
  row: StudyRow;
  stored: StoredStudyRequest;
  rungs: number[];
  direction: Direction;
}

export function toContext(row: StudyRow): StudyContext {
  const stored = readStored(storedStudyRequest, row.request, `request of study ${row.id}`);
  const { request } = stored;
  return {
    row,
    stored,
    rungs: rungEpochs(request.budget, request.scheduler),
    direction: request.objective.direction ?? METRIC_DIRECTION[request.objective.metric],
  };
}

/**
 * The study's row, locked until the transaction ends; null when there is none. FOR NO KEY
 * UPDATE, not FOR UPDATE: it excludes every other decision on the study, but not the foreign
 * key check of a candidate version being created for it (FOR KEY SHARE), which the submission
 * round makes through the training service while it holds this lock.
 */
export async function lockStudy(
  tx: Prisma.TransactionClient,
  studyId: string,
): Promise<StudyContext | null> {
  const locked = await tx.$queryRaw<{ id: string }[]>`
    SELECT id::text AS id FROM studies WHERE id = ${studyId}::uuid FOR NO KEY UPDATE`;
  if (locked.length === 0) return null;
  return toContext(await tx.study.findUniqueOrThrow({ where: { id: studyId } }));
}

export interface TrialState {
  trial: number;
  params: TrialParams;
  status: TrialStatus;
  results: RungRecord[];
  epochs: number;
  epochsSpent: number;
  segment: number | null;
  jobId: string | null;
  /** Epochs to append to the stored curve when saved. */
  newPoints: CurvePoint[];
  error: string | null;
  /** Changed since read: written back by saveTrials. */
  dirty: boolean;
}

export function toTrialState(row: Omit<TrialRow, "curve">): TrialState {
  const of = `of trial ${row.trial} of study ${row.studyId}`;
  return {
    trial: row.trial,
    params: readStored(storedTrialParams, row.params, `params ${of}`),
    status: row.status,
    results: readStored(storedTrialResults, row.results, `results ${of}`).rungs,
    epochs: row.epochs,
    epochsSpent: row.epochsSpent,
    segment: row.segment,
    jobId: row.jobId,
    newPoints: [],
    error: row.error,
    dirty: false,
  };
}

export async function loadTrials(db: Reader, studyId: string): Promise<TrialState[]> {
  const rows = await db.studyTrial.findMany({
    where: { studyId },
    orderBy: { trial: "asc" },
    omit: { curve: true },
  });
  return rows.map(toTrialState);
}

/** Every trial's stored curve, by trial number. */
export async function loadCurves(db: Reader, studyId: string): Promise<Map<number, CurvePoint[]>> {
  const rows = await db.studyTrial.findMany({
    where: { studyId },
    select: { trial: true, curve: true },
  });
  return new Map(
    rows.map((r) => [
      r.trial,
      readStored(storedTrialCurve, r.curve, `curve of trial ${r.trial} of study ${studyId}`).points,
    ]),
  );
}

export function trialColumns(t: TrialState) {
  return {
    params: toStoredJson(t.params),
    status: t.status,
    results: toStoredJson({ rungs: t.results }),
    epochs: t.epochs,
    epochsSpent: t.epochsSpent,
    segment: t.segment,
    jobId: t.jobId,
    error: t.error,
  };
}

export async function saveTrials(
  tx: Prisma.TransactionClient,
  studyId: string,
  trials: readonly TrialState[],
): Promise<void> {
  for (const t of trials) {
    if (!t.dirty) continue;
    await tx.studyTrial.update({
      where: { studyId_trial: { studyId, trial: t.trial } },
      data: trialColumns(t),
    });
    if (t.newPoints.length > 0) {
      const points = JSON.stringify(t.newPoints);
      await tx.$executeRaw`
        UPDATE study_trials
           SET curve = jsonb_set(curve, '{points}', (curve -> 'points') || ${points}::jsonb)
         WHERE study_id = ${studyId}::uuid AND trial = ${t.trial}`;
      t.newPoints = [];
    }
    t.dirty = false;
  }
}
