/**
 * AppError -> gRPC status. The code comes from errors.ts (each AppError carries its gRPC status),
 * the message is REST's `detail`, followed by each bad field as `path: message`, so a client
 * that only prints the status still learns what to fix. The trailing metadata carries the same
 * in machine-readable form:
 *   - `grpc-status-details-bin`: Google's rich error model, a google.rpc.Status whose details
 *     are a google.rpc.ErrorInfo (reason = the stable code, VALIDATION_FAILED, NOT_FOUND, ...)
 *     and, for invalid fields, a google.rpc.BadRequest; standard client libraries decode it;
 *   - `nnserve-error-code`: the stable code, and `nnserve-field-issues-bin`: the field issues
 *     as the JSON array of {path, message} REST sends, for clients without those libraries.
 */
import {
  Metadata,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { loadSync, type MessageTypeDefinition } from "@grpc/proto-loader";
import type { BadRequest } from "../../generated/grpc/google/rpc/BadRequest.ts";
import type { ErrorInfo } from "../../generated/grpc/google/rpc/ErrorInfo.ts";
import type { Status, Status__Output } from "../../generated/grpc/google/rpc/Status.ts";
import {
  DATABASE_RETRY_AFTER_SECONDS,
  isDatabaseUnavailable,
} from "../../platform/db/unavailable.ts";
import { AppError, type FieldIssue, internalError, unavailable } from "../../platform/errors.ts";
import type { Logger } from "../../platform/logger.ts";
import { ERROR_PROTO_FILES, PROTO_LOADER_OPTIONS } from "./protos.ts";

export const FIELD_ISSUES_METADATA = "nnserve-field-issues-bin";
export const ERROR_CODE_METADATA = "nnserve-error-code";
export const STATUS_DETAILS_METADATA = "grpc-status-details-bin";
export const ERROR_DOMAIN = "nnserve.dev";

const rpc = loadSync(ERROR_PROTO_FILES, PROTO_LOADER_OPTIONS);
export const rpcMessages = {
  Status: rpc["google.rpc.Status"] as MessageTypeDefinition<Status, Status__Output>,
  ErrorInfo: rpc["google.rpc.ErrorInfo"] as MessageTypeDefinition<ErrorInfo, ErrorInfo>,
  BadRequest: rpc["google.rpc.BadRequest"] as MessageTypeDefinition<BadRequest, BadRequest>,
};

/** google.rpc.Status with an ErrorInfo and, when fields are named, a BadRequest. */
function statusDetails(code: number, message: string, reason: string, issues: FieldIssue[]) {
  const details = [
    {
      type_url: "type.googleapis.com/google.rpc.ErrorInfo",
      value: rpcMessages.ErrorInfo.serialize({ reason, domain: ERROR_DOMAIN }),
    },
  ];
  if (issues.length > 0) {
    details.push({
      type_url: "type.googleapis.com/google.rpc.BadRequest",
      value: rpcMessages.BadRequest.serialize({
        fieldViolations: issues.map((i) => ({ field: i.path, description: i.message })),
      }),
    });
  }
  return rpcMessages.Status.serialize({ code, message, details });
}

/** grpc-js sends details in a header; stay well below the usual 8 KiB header limit. */
const MAX_DETAILS_CHARS = 2_000;

export type GrpcError = Partial<ServiceError> & { code: status; details: string };

export function toGrpcError(error: unknown, logger: Logger, method: string): GrpcError {
  const app =
    error instanceof AppError
      ? error
      : isDatabaseUnavailable(error)
        ? unavailable(
            `The database is unavailable; retry in ${DATABASE_RETRY_AFTER_SECONDS} s.`,
            error,
          )
        : internalError(undefined, error);
  if (app.code === "INTERNAL") logger.error({ err: error, method }, "gRPC call failed");
  else logger.debug({ err: app, method }, "gRPC call rejected");

  const message = app.exposeMessage ? app.message : "An internal error occurred.";
  let details = message;
  if (app.errors.length > 0) {
    const fields = app.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message));
    details = `${message} ${fields.join("; ")}`;
  }
  if (details.length > MAX_DETAILS_CHARS) {
    details = `${details.slice(0, MAX_DETAILS_CHARS - 1)}…`;
  }
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_METADATA, statusDetails(app.grpcCode, details, app.code, app.errors));
  metadata.set(ERROR_CODE_METADATA, app.code);
  if (app.code === "UNAVAILABLE" && !(error instanceof AppError))
    metadata.set("retry-after", String(DATABASE_RETRY_AFTER_SECONDS));
  if (app.errors.length > 0) {
    metadata.set(FIELD_ISSUES_METADATA, Buffer.from(JSON.stringify(app.errors)));
  }
  return { code: app.grpcCode as status, details, metadata };
}

/**
 * An async function as a grpc-js unary handler: its result, or its error as a status. Each call
 * is logged once, like REST's "request" lines: method, status code, duration.
 */
export function unary<Req, Res>(
  logger: Logger,
  method: string,
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const started = performance.now();
    const done = (code: status) =>
      logger.info(
        {
          method,
          code: status[code],
          durationMs: Math.round((performance.now() - started) * 100) / 100,
        },
        "rpc",
      );
    // A callback after the client cancelled (or its deadline passed) is dropped by grpc-js.
    Promise.resolve()
      .then(() => handler(call.request, call))
      .then(
        (response) => {
          done(status.OK);
          callback(null, response);
        },
        (error: unknown) => {
          const grpcError = toGrpcError(error, logger, method);
          done(grpcError.code);
          callback(grpcError);
        },
      );
  };
}
