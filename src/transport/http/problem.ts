/**
 * Every error response as RFC 9457 problem details. Client errors (4xx) say what was wrong;
 * server errors say only that something failed and which request id to quote, and the real
 * error goes to the log under that id.
 */
import { STATUS_CODES } from "node:http";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import {
  DATABASE_RETRY_AFTER_SECONDS,
  isDatabaseUnavailable,
} from "../../platform/db/unavailable.ts";
import {
  AppError,
  type ErrorCode,
  internalError,
  isAppError,
  malformedRequest,
  payloadTooLarge,
  pointerToPath,
  problemType,
  unavailable,
  unsupportedMediaType,
  validationError,
} from "../../platform/errors.ts";
import { LogThrottle } from "../../platform/log-throttle.ts";
import type { Problem } from "../../platform/validation/problem.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8";

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: "MALFORMED_REQUEST",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "TOO_MANY_REQUESTS",
  503: "UNAVAILABLE",
};

type MaybeFastifyError = Partial<FastifyError> & {
  validation?: { instancePath?: string; message?: string }[];
};

/** Any thrown value as an AppError: fastify's own 4xx errors keep their status and message. */
export function toAppError(error: unknown, request: FastifyRequest, bodyLimit: number): AppError {
  if (isAppError(error)) return error;
  const err = (error ?? {}) as MaybeFastifyError;

  // Routes validated by another compiler (Ajv, or the library's zod compiler) still get paths.
  if (Array.isArray(err.validation)) {
    return validationError(
      err.validation.map((issue) => ({
        path: pointerToPath(issue.instancePath ?? ""),
        message: issue.message ?? "is invalid",
      })),
    );
  }

  switch (err.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return malformedRequest(err.message ?? "The body is not valid JSON.");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      // A route may have a limit of its own (the model import), and advice to go with it.
      return payloadTooLarge(
        request.routeOptions.bodyLimit ?? bodyLimit,
        (request.routeOptions.config as { tooLargeAdvice?: string } | undefined)?.tooLargeAdvice,
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return unsupportedMediaType(request.headers["content-type"]);
  }

  const status = typeof err.statusCode === "number" ? err.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = CODE_BY_STATUS[status];
    const message = err.message || STATUS_CODES[status] || "Bad request";
    if (code) return new AppError(code, message, { cause: error });
    return new AppError("MALFORMED_REQUEST", message, {
      cause: error,
      status,
      title: STATUS_CODES[status] ?? "Client error",
    });
  }
  // Postgres out of reach: the client did nothing wrong and should come back.
  if (isDatabaseUnavailable(error)) return databaseUnavailable(error);
  // Load shedding (@fastify/under-pressure) raises 503s that are meant to be read.
  if (status === 503)
    return unavailable(err.message || "Service unavailable; retry shortly.", error);
  return status > 500 && status < 600
    ? new AppError("INTERNAL", "An internal error occurred.", { cause: error, status })
    : internalError(undefined, error);
}

export function problemBody(error: AppError, request: FastifyRequest): Problem {
  const hidden = !error.exposeMessage;
  const problem: Problem = {
    type: problemType(error.code),
    title: error.title,
    status: error.statusCode,
    detail: hidden
      ? `An internal error occurred; quote request id ${request.id} when reporting it.`
      : error.message,
    instance: request.url,
    code: error.code,
    requestId: String(request.id),
  };
  if (error.errors.length > 0) problem.errors = error.errors;
  return problem;
}

export function sendProblem(reply: FastifyReply, error: AppError): FastifyReply {
  const body = problemBody(error, reply.request);
  // A string skips the route's response serializer, which could itself fail on an error path.
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

export function databaseUnavailable(cause: unknown): AppError {
  return unavailable(
    `The database is unavailable; retry in ${DATABASE_RETRY_AFTER_SECONDS} s.`,
    cause,
  );
}

/** The app's one error handler. */
export function handleError(bodyLimit: number) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error, request, bodyLimit);
    logFailure(request, error, appError);
    if (appError.code === "UNAVAILABLE" && !reply.hasHeader("retry-after"))
      reply.header("retry-after", String(DATABASE_RETRY_AFTER_SECONDS));
    return sendProblem(reply, appError);
  };
}

/**
 * A 5xx goes to the log with the original error and its stack (never to the client); a
 * deliberate refusal (UNAVAILABLE: shutting down) is expected, one warning line without a stack.
 */
export function logFailure(request: FastifyRequest, error: unknown, appError: AppError): void {
  if (appError.code === "UNAVAILABLE") {
    // An outage fails every request the same way: one line per 10 s says it.
    const admitted = warnings.admit(appError.message);
    if (admitted) request.log.warn({ repeated: admitted.repeated }, appError.message);
  } else if (appError.statusCode >= 500) {
    // A client that hung up mid-body is no failure of ours, and must not fill the error log.
    if (clientAborted(request)) request.log.info({ err: error }, "client aborted the request");
    else request.log.error({ err: error }, "request failed");
  }
}

const warnings = new LogThrottle();

function clientAborted(request: FastifyRequest): boolean {
  return request.raw.aborted || (request.raw.destroyed && !request.raw.complete);
}
