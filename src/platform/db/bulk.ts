/**
 * Bulk writes (dataset columns, a job's training data): plain multi-row INSERT statements in
 * chunks, sent as raw SQL so they skip Prisma's query compiler (a createMany of 100k small rows
 * held the event loop for seconds), inside a transaction whose timeout grows with the bytes
 * written instead of Prisma's fixed 5 s (three concurrent 58 MB submissions ran past it).
 */
import type { Prisma } from "../../generated/prisma/client.ts";

const MiB = 1024 * 1024;
/** Postgres takes at most 65,535 bind parameters per statement. */
const MAX_PARAMETERS = 60_000;
/** A statement's parameters stay around this size, so no one message is huge. */
const CHUNK_BYTES = 16 * MiB;

/**
 * Options for a transaction that writes `bytes` of bulk data: 30 s, plus 1 s per MiB (far
 * slower than any Postgres we have seen), at most 10 min. maxWait covers waiting for a pool
 * connection while other bulk writes hold theirs.
 */
export function bulkTransactionOptions(bytes: number): { maxWait: number; timeout: number } {
  return { maxWait: 30_000, timeout: Math.min(600_000, 30_000 + Math.ceil(bytes / MiB) * 1_000) };
}

type Cell = string | number | boolean | null | Uint8Array;

function cellBytes(cell: Cell): number {
  if (cell instanceof Uint8Array) return cell.byteLength;
  return typeof cell === "string" ? cell.length * 3 : 8;
}

/**
 * INSERT INTO `table` (`columns`) VALUES ... for every row, in as few statements as the chunk
 * limits allow. `table`, `columns` and `casts` come from our code, never from a request.
 */
export async function insertRows(
  tx: Prisma.TransactionClient,
  table: string,
  columns: readonly { name: string; cast?: string }[],
  rows: readonly Cell[][],
): Promise<void> {
  const names = columns.map((c) => `"${c.name}"`).join(", ");
  let start = 0;
  while (start < rows.length) {
    let end = start;
    let bytes = 0;
    while (
      end < rows.length &&
      (end === start ||
        ((end - start + 1) * columns.length <= MAX_PARAMETERS && bytes < CHUNK_BYTES))
    ) {
      for (const cell of rows[end]!) bytes += cellBytes(cell);
      end++;
    }
    const params: Cell[] = [];
    const tuples: string[] = [];
    for (let r = start; r < end; r++) {
      const placeholders = columns.map((column, c) => {
        params.push(rows[r]![c]!);
        return `$${params.length}${column.cast ? `::${column.cast}` : ""}`;
      });
      tuples.push(`(${placeholders.join(", ")})`);
    }
    await tx.$executeRawUnsafe(
      `INSERT INTO "${table}" (${names}) VALUES ${tuples.join(", ")}`,
      ...params,
    );
    start = end;
  }
}
