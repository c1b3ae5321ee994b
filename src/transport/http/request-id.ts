/**
 * The request id: read from and echoed in the `x-request-id` header, logged as `reqId`. Its own
 * module so that app.ts and the plugins it registers (auth, protection) share one definition
 * without importing each other.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const REQUEST_ID_HEADER = "x-request-id";

// A client's request id is echoed and logged, so only plain tokens are trusted.
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** fastify's genReqId: the client's id when it is a plain token, else a new UUID. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === "string" && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}
