/**
 * JSON is the only body type: text/plain is dropped so a wrong Content-Type is a 415 instead of
 * a confusing "expected object, received string". Bodies are still parsed by fastify's
 * prototype-poisoning-safe parser; this wrapper adds where the JSON broke, and lets an empty
 * body through so `POST /jobs/:id/cancel` works from clients that always send the header.
 */
import type { FastifyInstance } from "fastify";
import { malformedRequest } from "../errors.ts";

function describe(body: string): string {
  try {
    JSON.parse(body);
    return "The body contains a forbidden __proto__ or constructor.prototype key.";
  } catch (error) {
    return `The body is not valid JSON: ${(error as Error).message}.`;
  }
}

export function useJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body as string;
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
    parse(request, text, (error, value) => {
      if (error) done(malformedRequest(describe(text)), undefined);
      else done(null, value);
    });
  });
}
