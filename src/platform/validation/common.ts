/**
 * Building blocks of the request schemas: strict objects that name the field a typo was meant
 * to be, finite numbers, model names, and the limits every factory takes.
 */
import { z } from "zod";
import { NON_FINITE_MESSAGE } from "../errors.ts";

/** The limits the request schemas enforce; Config["limits"] satisfies it. */
export interface RequestLimits {
  maxEpochs: number;
  maxLayers: number;
  maxUnits: number;
  maxParameters: number;
  maxRows: number;
  maxPredictRows: number;
  /** training.timeBudgetSeconds at most (JOB_MAX_SECONDS); unset: no upper bound. */
  maxJobSeconds?: number;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `"epoch"` -> `Unknown field "epoch"; did you mean "epochs"?` */
export function unknownFieldsMessage(keys: readonly string[], known: readonly string[]): string {
  const parts = keys.map((key) => {
    const guess = closest(key, known);
    return guess ? `"${key}" (did you mean "${guess}"?)` : `"${key}"`;
  });
  const allowed = `allowed: ${known.join(", ")}`;
  return keys.length === 1
    ? `Unknown field ${parts[0]}; ${allowed}`
    : `Unknown fields ${parts.join(", ")}; ${allowed}`;
}

/** A strict object: unknown fields are rejected so a misspelled option never silently defaults. */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? unknownFieldsMessage(issue.keys, known) : undefined,
  });
}

/**
 * The network computes in float32: a finite number past ±3.4028235e38 becomes Infinity there,
 * and the engine would refuse it only later (a 500 on predict, a failed job on train).
 */
export const FLOAT32_MESSAGE =
  "is beyond the float32 range (±3.4028235e38) the network computes in";

/** A finite number that stays finite in float32 (Math.fround rounds as Float32Array does). */
export function fitsFloat32(x: number): boolean {
  return Math.fround(x) - Math.fround(x) === 0;
}

/** Postgres text and jsonb cannot hold U+0000: a NUL in a stored string is a 500 there. */
export const NUL_MESSAGE = "contains a NUL character (U+0000), which cannot be stored";
export const hasNul = (text: string) => text.includes("\u0000");

/** zod 4 numbers already reject ±Infinity and NaN (JSON 1e400 parses to Infinity). */
export const finite = () => z.number();

export const count = (min: number, max: number, what?: string) => {
  const message = `must be a whole number from ${min} to ${max}${what ? ` (${what})` : ""}`;
  return z.int(message).min(min, message).max(max, message);
};

export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * Lower case only so that "XOR" and "xor" can never be two models; names go into URLs
 * (`/models/{name}`), hence no slashes or spaces.
 */
export const modelName = z
  .string()
  .regex(
    MODEL_NAME,
    "must be 1-64 characters of lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
  )
  .meta({ example: "xor" });

/** Versions are int4 in Postgres: a larger number names no version (and would overflow). */
export const MAX_MODEL_VERSION = 2_147_483_647;
export const modelVersion = z
  .int("must be a whole number >= 1")
  .min(1, "must be a whole number >= 1")
  .max(MAX_MODEL_VERSION, `must be a whole number from 1 to ${MAX_MODEL_VERSION}`)
  .meta({ example: 1 });

export const uuid = z.uuid("must be a UUID");

export const isoDateTime = z.iso.datetime({ offset: true });

/**
 * Rows of numbers, row-major: one row per example. Checked by one plain loop rather than a zod
 * schema per element: a 784-wide prediction row costs zod ~10 µs, a third of a small request's
 * whole budget. The messages are the ones zod (and errors.ts) would give; the JSON Schema (for
 * OpenAPI) is stated in the metadata.
 */
export const matrix = (maxRows: number) =>
  z
    .custom<number[][]>(() => true)
    .superRefine((value, ctx) => checkMatrix(value, maxRows, ctx))
    .meta({
      type: "array",
      minItems: 1,
      maxItems: maxRows,
      items: { type: "array", items: { type: "number" } },
    });

/**
 * An array whose elements a later step checks (a tensor's `data`): zod would visit every element
 * of a 784-wide row first, for nothing.
 */
export const looseArray = () =>
  z
    .custom<unknown[]>(() => true)
    .superRefine((value, ctx) => {
      if (!Array.isArray(value)) {
        ctx.addIssue({
          code: "custom",
          message: `Invalid input: expected array, received ${received(value)}`,
          continue: false,
        });
      }
    })
    .meta({ type: "array", items: {} });

function received(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : "number";
  return typeof value;
}

/** An array of 1 to maxRows rows; otherwise one issue, and false. */
export function checkRowList(
  value: unknown,
  maxRows: number,
  ctx: z.core.$RefinementCtx,
): value is unknown[] {
  if (!Array.isArray(value)) {
    ctx.addIssue({
      code: "custom",
      message: `Invalid input: expected array, received ${received(value)}`,
      continue: false,
    });
    return false;
  }
  if (value.length === 0) {
    ctx.addIssue({ code: "custom", message: "needs at least one row", continue: false });
    return false;
  }
  if (value.length > maxRows) {
    ctx.addIssue({
      code: "custom",
      message: `has more than ${maxRows} rows, the limit per request`,
      continue: false,
    });
    return false;
  }
  return true;
}

function checkMatrix(value: unknown, maxRows: number, ctx: z.core.$RefinementCtx): void {
  if (!checkRowList(value, maxRows, ctx)) return;
  const bad = rowReporter(ctx, [], 10, true);
  for (let i = 0; i < value.length; i++) {
    const row: unknown = value[i];
    if (!Array.isArray(row)) {
      bad.add([i], `Invalid input: expected array, received ${received(row)}`);
      continue;
    }
    for (let j = 0; j < row.length; j++) {
      const x: unknown = row[j];
      // x - x is 0 for every finite number and NaN for ±Infinity and NaN.
      if (typeof x === "number" && x - x === 0 && fitsFloat32(x)) continue;
      if (typeof x === "number")
        bad.add([i, j], x - x === 0 ? FLOAT32_MESSAGE : NON_FINITE_MESSAGE);
      else if (x === undefined) bad.add([i, j], "is required");
      else bad.add([i, j], `Invalid input: expected number, received ${received(x)}`);
    }
  }
  bad.finish("values that are not numbers");
}

/**
 * Reports a per-row rule for at most `max` rows, then one summary line: a 100k-row upload with
 * every row wrong must still produce a readable response.
 */
export function rowReporter(
  ctx: z.core.$RefinementCtx,
  container: PropertyKey[],
  max = 10,
  /** Stop the checks that would run after this one (they assume well-formed rows). */
  abort = false,
) {
  let reported = 0;
  let suppressed = 0;
  return {
    add(path: PropertyKey[], message: string) {
      if (reported < max) {
        reported++;
        ctx.addIssue({ code: "custom", path, message, continue: !abort });
      } else suppressed++;
    },
    finish(what: string) {
      if (suppressed > 0) {
        ctx.addIssue({
          code: "custom",
          path: container,
          message: `${suppressed} more ${what} not listed`,
          continue: !abort,
        });
      }
    },
  };
}
