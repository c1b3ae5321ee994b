/**
 * Stored JSON columns, on the way in and out of Postgres. Every object written carries
 * `formatVersion` (STORED_FORMAT_VERSION); a row without one was written before the field
 * existed and reads as version 1. Every read goes through the column's zod schema, so a row
 * another program wrote, a newer nnserve's format or a damaged value is a clear error naming
 * the column and the field, never a crash somewhere downstream.
 */
import { z } from "zod";
import type { Prisma } from "../../generated/prisma/client.ts";
import { type AppError, formatPath, internalError } from "../errors.ts";

/** The format version of the stored JSON objects this server writes and reads. */
export const STORED_FORMAT_VERSION = 1;

/**
 * A column's schema that also takes the format version: absent reads as 1, any other version
 * is refused; the parsed value has no `formatVersion` key (it says how to read, not what).
 */
export function storedColumn<S extends z.ZodType>(schema: S) {
  return z.preprocess((value, ctx) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    if (!("formatVersion" in value)) return value;
    const { formatVersion, ...rest } = value as Record<string, unknown>;
    if (formatVersion !== STORED_FORMAT_VERSION) {
      ctx.addIssue({
        code: "custom",
        path: ["formatVersion"],
        message: `is ${JSON.stringify(formatVersion)}; this server reads format version ${STORED_FORMAT_VERSION}`,
        input: value,
      });
    }
    return rest;
  }, schema);
}

/** Parses a stored column; throws an INTERNAL AppError naming the column and the bad field. */
export function readStored<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw storedJsonError(what, parsed.error);
}

function storedJsonError(what: string, error: z.ZodError): AppError {
  const issue = error.issues[0];
  const path = issue ? formatPath(issue.path) : "";
  const detail = issue ? `${path === "" ? "the value" : path} ${issue.message}` : error.message;
  return internalError(
    `The stored ${what} cannot be read (${detail}); the row was written by another program or damaged.`,
    error,
  );
}

/** An object as a JSON column value, with the format version it is written in. */
export function toStoredJson(value: object): Prisma.InputJsonValue {
  return toJsonColumn({ formatVersion: STORED_FORMAT_VERSION, ...value });
}

/** The same as JSON text, for a column a raw SQL statement writes (`$1::jsonb`). */
export function toStoredJsonText(value: object): string {
  return JSON.stringify({ formatVersion: STORED_FORMAT_VERSION, ...value });
}

/**
 * An object that carries its own format version (the engine's architecture, preprocessing) as
 * a JSON column value.
 */
export function toJsonColumn(value: object): Prisma.InputJsonValue {
  // Prisma's JSON input type cannot say "an interface of plain data"; these values are.
  return value as Prisma.InputJsonObject;
}
