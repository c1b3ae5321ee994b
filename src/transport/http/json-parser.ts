/**
 * JSON is the only body type: text/plain is dropped so a wrong Content-Type is a 415 instead of
 * a confusing "expected object, received string". Bodies are still parsed by fastify's
 * prototype-poisoning-safe parser; this wrapper adds where the JSON broke, and lets an empty
 * body through so `POST /jobs/:id/cancel` works from clients that always send the header.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { malformedRequest } from "../../platform/errors.ts";

/** Why `text` was refused, as a sentence about `what` ("The body"). */
function describe(text: string, what: string): string {
  try {
    JSON.parse(text);
    return `${what} contains a forbidden __proto__ or constructor.prototype key.`;
  } catch (error) {
    return `${what} is not valid JSON: ${(error as Error).message}.`;
  }
}

/**
 * Parses JSON text the way every route does; throws MALFORMED_REQUEST saying what is wrong with
 * `what` (default "The body"). For routes that read their bodies themselves (/predict, /v2).
 */
export type JsonTextParser = (request: FastifyRequest, text: string, what?: string) => unknown;

export function jsonTextParser(app: FastifyInstance): JsonTextParser {
  const parse = app.getDefaultJsonParser("error", "error");
  return (request, text, what = "The body") => {
    // fastify's parser (secure-json-parse) scans the whole text with two regular expressions
    // for __proto__ and constructor keys, spelled out or with \u escapes: a few µs for a
    // 784-number row. Text with none of those spellings cannot match them, and plain
    // JSON.parse gives it the same value (a byte-order mark is left to the parser, too).
    if (
      text.charCodeAt(0) !== 0xfeff &&
      !text.includes("\\u") &&
      !text.includes("__proto__") &&
      !text.includes("constructor")
    ) {
      try {
        return JSON.parse(text);
      } catch {
        throw malformedRequest(describe(text, what));
      }
    }
    // fastify's parser answers through its callback before returning.
    let failed = false;
    let value: unknown;
    parse(request, text, (error, parsed) => {
      failed = error !== null;
      value = parsed;
    });
    if (failed) throw malformedRequest(describe(text, what));
    return value;
  };
}

export function useJsonBodies(app: FastifyInstance): void {
  const parse = jsonTextParser(app);
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body as string;
    try {
      done(null, text.length === 0 ? undefined : parse(request, text));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
