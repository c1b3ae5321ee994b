/**
 * Rows of numbers <-> packed rows (one row-major Float32Array), the form the prediction service
 * runs on. The one copy of the packing: REST, gRPC and the Open Inference Protocol all use it.
 */

/** `rows`, each `width` numbers (the schema has checked that), packed row after row. */
export function packRows(rows: readonly (readonly number[])[], width: number): Float32Array {
  const values = new Float32Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) values.set(rows[r]!, r * width);
  return values;
}

/** Packed rows back as `rows` arrays of `width` numbers. */
export function unpackRows(values: Float32Array, rows: number, width: number): number[][] {
  const out: number[][] = new Array(rows);
  for (let r = 0; r < rows; r++) out[r] = Array.from(values.subarray(r * width, (r + 1) * width));
  return out;
}
