/**
 * study_events: what a study decided and saw, append-only. Written in the transaction that
 * made the decision (so an event exists exactly when its decision does), followed with a
 * NOTIFY on the studies channel that Postgres delivers on commit, to every replica.
 */
import type {
  Prisma,
  PrismaClient,
  StudyEvent as StudyEventRow,
} from "../../generated/prisma/client.ts";
import type { StudyEvent, StudyEventType, StudyStatus } from "./schemas.ts";

/** NOTIFY channel: a study changed (created, decided, ended); the payload is its id. */
export const studiesChannel = "nnserve_studies";

export interface EventInput {
  type: StudyEventType;
  trial?: number | null;
  rung?: number | null;
  epochs?: number | null;
  metric?: number | null;
  version?: number | null;
  status?: StudyStatus | null;
}

const finiteOrNull = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? null : v;

export async function appendEvents(
  tx: Prisma.TransactionClient,
  studyId: string,
  events: readonly EventInput[],
): Promise<void> {
  if (events.length === 0) return;
  // One INSERT: ids are drawn in the order of the rows.
  await tx.studyEvent.createMany({
    data: events.map((e) => ({
      studyId,
      type: e.type,
      trial: e.trial ?? null,
      rung: e.rung ?? null,
      epochs: e.epochs ?? null,
      metric: finiteOrNull(e.metric),
      version: e.version ?? null,
      status: e.status ?? null,
    })),
  });
}

/** Delivered when the transaction commits (never for one rolled back). */
export async function notifyStudy(tx: Prisma.TransactionClient, studyId: string): Promise<void> {
  await tx.$queryRaw`SELECT pg_notify(${studiesChannel}, ${studyId})::text AS sent`;
}

export function toEventView(row: StudyEventRow): StudyEvent {
  return {
    id: Number(row.id),
    type: row.type as StudyEventType,
    trial: row.trial,
    rung: row.rung,
    epochs: row.epochs,
    metric: row.metric,
    version: row.version,
    status: row.status,
    at: row.at.toISOString(),
  };
}

/** Events after `afterId`, oldest first, at most `limit` (null: all). */
export async function listEvents(
  prisma: PrismaClient,
  studyId: string,
  afterId: number,
  limit: number | null = 1_000,
): Promise<StudyEvent[]> {
  const rows = await prisma.studyEvent.findMany({
    where: { studyId, id: { gt: BigInt(afterId) } },
    orderBy: { id: "asc" },
    ...(limit === null ? {} : { take: limit }),
  });
  return rows.map(toEventView);
}
