/**
 * What a transport hands the prediction service: where the prediction goes (`PredictTarget`)
 * and the rows, in one of three shapes (`PredictInput`), so that no transport flag travels
 * through the service:
 *   - "json": rows as the predict schema parsed them (numbers, or raw values and named rows for
 *     a version with preprocessing);
 *   - "packed": numbers a transport packed itself (the /predict body reader, gRPC `Rows`), with
 *     the rows as written kept for a version with preprocessing, whose raw values are encoded
 *     from them rather than from their float32 roundings;
 *   - "network": the network's input as is (the Open Inference Protocol's tensor): a version's
 *     preprocessing is not applied.
 */
import type { RawRow } from "../versions/preprocessing/encode.ts";
import type { PredictRequest } from "./request.ts";

export interface PredictTarget {
  model: string;
  /** Neither version nor alias: routed (the split, else alias production, else newest ready). */
  version?: number | undefined;
  alias?: string | undefined;
  /** A sticky split sends the same key to the same version. */
  routingKey?: string | undefined;
}

/** [rows × width] row-major, finite values (the caller has checked them). */
interface Packed {
  values: Float32Array;
  rows: number;
  width: number;
}

export type PackedInput =
  | (Packed & { kind: "packed"; raw?: (() => readonly RawRow[]) | undefined })
  | (Packed & { kind: "network" });

export type PredictInput = { kind: "json"; rows: PredictRequest["inputs"] } | PackedInput;
