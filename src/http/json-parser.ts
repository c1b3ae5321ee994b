/**
 * JSON is the only body type: text/plain is dropped so a wrong Content-Type is a 415 instead of
 * a confusing "expected object, received string". Bodies are still parsed by fastify's
 * prototype-poisoning-safe parser; this wrapper adds where the JSON broke, and lets an empty
 * body through so `POST /jobs/:id/cancel` works from clients that always send the header.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { malformedRequest } from "../errors.ts";

function describe(body: string): string {
  try {
    JSON.parse(body);
    return "The body contains a forbidden __proto__ or constructor.prototype key.";
  } catch (error) {
    return `The body is not valid JSON: ${(error as Error).message}.`;
  }
}

/** Parses a JSON body's text the way every JSON route does (for routes with their own reader). */
export type JsonBodyParser = (
  request: FastifyRequest,
  text: string,
  done: (error: Error | null, value?: unknown) => void,
) => void;

export function jsonBodyParser(app: FastifyInstance): JsonBodyParser {
  const parse = app.getDefaultJsonParser("error", "error");
  return (request, text, done) => {
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
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
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        done(malformedRequest(describe(text)), undefined);
        return;
      }
      done(null, value);
      return;
    }
    parse(request, text, (error, value) => {
      if (error) done(malformedRequest(describe(text)), undefined);
      else done(null, value);
    });
  };
}

export function useJsonBodies(app: FastifyInstance): void {
  const parse = jsonBodyParser(app);
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) =>
    parse(request, body as string, done),
  );
}
