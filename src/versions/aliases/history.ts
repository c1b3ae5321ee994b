/**
 * A model's history: an append-only table of what served when. Every change to routing writes
 * its event in the transaction that makes the change, so the history cannot miss one nor show
 * one twice (whichever replica made it). Rows name the model, not only its id, and have no
 * foreign key: they outlive the model, so `GET /models/{name}/history` still answers after a
 * delete. Nothing here (nor anywhere in the API) updates or deletes an event.
 */
import type { Prisma, PrismaClient } from "../../generated/prisma/client.ts";
import { notFound } from "../../platform/errors.ts";
import type { Actor, EventKind, HistoryPage, HistoryQuery, ModelEventView } from "./schemas.ts";

type Tx = Prisma.TransactionClient | PrismaClient;

export interface NewEvent {
  model: string;
  modelId: string;
  kind: EventKind;
  alias?: string | null;
  fromVersion?: number | null;
  toVersion?: number | null;
  jobId?: string | null;
  detail?: Prisma.InputJsonValue;
  reason?: string | null | undefined;
  actor: Actor;
}

/** Returns the event's id. */
export async function recordEvent(tx: Tx, event: NewEvent): Promise<string> {
  const { id } = await tx.modelEvent.create({
    data: {
      model: event.model,
      modelId: event.modelId,
      kind: event.kind,
      alias: event.alias ?? null,
      fromVersion: event.fromVersion ?? null,
      toVersion: event.toVersion ?? null,
      jobId: event.jobId ?? null,
      ...(event.detail === undefined ? {} : { detail: event.detail }),
      reason: event.reason ?? null,
      actor: event.actor,
    },
    select: { id: true },
  });
  return id.toString();
}

type EventRow = Awaited<ReturnType<PrismaClient["modelEvent"]["findMany"]>>[number];

export function toEventView(row: EventRow): ModelEventView {
  return {
    id: row.id.toString(),
    kind: row.kind,
    at: row.createdAt.toISOString(),
    alias: row.alias,
    fromVersion: row.fromVersion,
    toVersion: row.toVersion,
    jobId: row.jobId,
    detail: row.detail ?? null,
    reason: row.reason,
    actor: row.actor,
  };
}

/** Newest first. A name with neither a model nor any event is unknown (404). */
export async function listHistory(
  prisma: PrismaClient,
  model: string,
  { limit, cursor }: HistoryQuery,
): Promise<HistoryPage> {
  const rows = await prisma.modelEvent.findMany({
    where: { model, ...(cursor === undefined ? {} : { id: { lt: BigInt(cursor) } }) },
    orderBy: { id: "desc" },
    take: limit + 1,
  });
  if (rows.length === 0 && cursor === undefined) {
    const exists = await prisma.model.findUnique({ where: { name: model }, select: { id: true } });
    if (!exists) throw notFound("model", model);
  }
  const page = rows.slice(0, limit);
  return {
    events: page.map(toEventView),
    nextCursor: rows.length > limit ? page.at(-1)!.id.toString() : null,
  };
}
