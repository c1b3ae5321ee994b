/** Running an exported ONNX file in onnxruntime-node (its CPU build ships in the npm package). */
import ort from "onnxruntime-node";

export type Feeds = Record<string, ort.Tensor>;

export async function runOnnx(file: Uint8Array, feeds: Feeds): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(file);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export const floatInput = (rows: readonly (readonly number[])[]) =>
  new ort.Tensor("float32", Float32Array.from(rows.flat()), [rows.length, rows[0]?.length ?? 0]);

export const doubleInput = (rows: readonly (readonly number[])[]) =>
  new ort.Tensor("float64", Float64Array.from(rows.flat()), [rows.length, rows[0]?.length ?? 0]);

export const stringInput = (values: readonly string[]) =>
  new ort.Tensor("string", [...values], [values.length]);

/** Largest |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(Number(a[i]) - Number(b[i])));
  return max;
}
