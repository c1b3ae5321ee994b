/** The opaque cursor of every newest-first list: the last row's (createdAt, id). */
import { validationError } from "../errors.ts";

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

function validationErrorForCursor() {
  return validationError([
    { path: "cursor", message: "is not a cursor this API returned; start from the first page" },
  ]);
}
