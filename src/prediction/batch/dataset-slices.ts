/**
 * A stored dataset read a chunk of rows at a time: only the columns a batch job uses, and only
 * the bytes of the chunk's rows (numeric columns are Float64, categorical ones Int32 codes, as
 * src/datasets/service.ts stores them), so memory is bounded by the chunk, not the dataset.
 */
import type pg from "pg";
import type { DatasetColumnView } from "../../datasets/schemas.ts";
import { bytesToFloat64, bytesToInt32 } from "../../platform/db/binary.ts";
import type { RawCell } from "../../versions/preprocessing/encode.ts";
import { readColumnSlices } from "./queue-sql.ts";

export interface SliceColumn {
  position: number;
  view: DatasetColumnView;
}

/**
 * Rows [start, start + rows) of the given columns, as cells: a number, a category, or null for
 * a missing cell. Returned column-major: cells[i][r] is column i's value in row start + r.
 */
export async function readSlice(
  pool: pg.Pool,
  datasetId: string,
  columns: readonly SliceColumn[],
  start: number,
  rows: number,
): Promise<RawCell[][]> {
  const bytesPer = columns.map((c) => (c.view.type === "numeric" ? 8 : 4));
  const { rows: found } = await pool.query<{ position: number; slice: Buffer }>(readColumnSlices, [
    datasetId,
    columns.map((c) => c.position),
    bytesPer.map((b) => start * b + 1),
    bytesPer.map((b) => rows * b),
  ]);
  const byPosition = new Map(found.map((row) => [row.position, row.slice]));
  return columns.map((column, i) => {
    const bytes = byPosition.get(column.position);
    if (!bytes || bytes.byteLength !== rows * bytesPer[i]!) {
      throw new Error(
        `dataset ${datasetId} column ${column.position} has no rows ${start}..${start + rows - 1}`,
      );
    }
    const cells: RawCell[] = new Array(rows);
    const { view } = column;
    if (view.type === "numeric") {
      const values = bytesToFloat64(bytes);
      for (let r = 0; r < rows; r++) {
        const v = values[r]!;
        cells[r] = Number.isNaN(v) ? null : v;
      }
    } else {
      const codes = bytesToInt32(bytes);
      for (let r = 0; r < rows; r++) {
        const code = codes[r]!;
        cells[r] = code < 0 ? null : (view.categories[code]?.value ?? null);
      }
    }
    return cells;
  });
}
