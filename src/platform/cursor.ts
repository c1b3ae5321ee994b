/** The opaque cursor of every newest-first list: the last row's (createdAt, id). */
import { validationError } from "./errors.ts";

// Newest first by (createdAt, id); the cursor is the last row's key, opaque to clients.
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString("base64url");
}

// Both parts go into comparisons with a uuid and a timestamptz column, where anything else
// (an id that is no UUID, a year Postgres cannot store) fails as a 500: only what
// encodeCursor writes is accepted.
const CURSOR =
  /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})$/i;

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [, at = "", id = ""] = CURSOR.exec(Buffer.from(cursor, "base64url").toString()) ?? [];
  const createdAt = new Date(at);
  const valid = !Number.isNaN(createdAt.getTime()) && createdAt.getUTCFullYear() >= 1;
  if (!id || !valid || createdAt.toISOString() !== at) {
    throw validationErrorForCursor();
  }
  return { createdAt, id };
}

/**
 * How a newest-first list reads the page after `cursor` (the first page without one): its
 * filter and order, for a findMany that takes `limit + 1` rows; toPage then cuts the extra one.
 */
export function pageAfter(cursor: string | undefined) {
  const after = cursor ? decodeCursor(cursor) : undefined;
  return {
    where: after
      ? {
          OR: [
            { createdAt: { lt: after.createdAt } },
            { createdAt: after.createdAt, id: { lt: after.id } },
          ],
        }
      : {},
    orderBy: [{ createdAt: "desc" as const }, { id: "desc" as const }],
  };
}

/** Rows read with `take: limit + 1` -> the page's views and the cursor of the next page. */
export function toPage<Row extends { createdAt: Date; id: string }, View>(
  rows: Row[],
  limit: number,
  view: (row: Row) => View,
): { items: View[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return {
    items: page.map(view),
    nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null,
  };
}

function validationErrorForCursor() {
  return validationError([
    { path: "cursor", message: "is not a cursor this API returned; start from the first page" },
  ]);
}
