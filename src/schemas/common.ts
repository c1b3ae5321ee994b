/**
 * Building blocks of the request schemas: strict objects that name the field a typo was meant
 * to be, finite numbers, model names, and the limits every factory takes.
 */
import { z } from "zod";

/** The limits the request schemas enforce; Config["limits"] satisfies it. */
export interface RequestLimits {
  maxEpochs: number;
  maxLayers: number;
  maxUnits: number;
  maxParameters: number;
  maxRows: number;
  maxPredictRows: number;
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

export const modelVersion = z.int().min(1, "must be a whole number >= 1").meta({ example: 1 });

export const uuid = z.uuid("must be a UUID");

export const isoDateTime = z.iso.datetime({ offset: true });

/** Rows of numbers, row-major: one row per example. */
export const matrix = (maxRows: number) =>
  z
    .array(z.array(finite()))
    .min(1, "needs at least one row")
    .max(maxRows, `has more than ${maxRows} rows, the limit per request`);

/**
 * Reports a per-row rule for at most `max` rows, then one summary line: a 100k-row upload with
 * every row wrong must still produce a readable response.
 */
export function rowReporter(ctx: z.core.$RefinementCtx, container: PropertyKey[], max = 10) {
  let reported = 0;
  let suppressed = 0;
  return {
    add(path: PropertyKey[], message: string) {
      if (reported < max) {
        reported++;
        ctx.addIssue({ code: "custom", path, message });
      } else suppressed++;
    },
    finish(what: string) {
      if (suppressed > 0) {
        ctx.addIssue({
          code: "custom",
          path: container,
          message: `${suppressed} more ${what} not listed`,
        });
      }
    },
  };
}
