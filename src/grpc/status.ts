/**
 * AppError -> gRPC status. The code comes from errors.ts (each AppError carries its gRPC status),
 * the message is REST's `detail`, followed by each bad field as `path: message`, so a client
 * that only prints the status still learns what to fix. The field issues also travel as JSON in
 * the trailing metadata `nnserve-field-issues-bin`, and the stable code (VALIDATION_FAILED,
 * NOT_FOUND, ...) as `nnserve-error-code`.
 */
import {
  Metadata,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { AppError, internalError } from "../errors.ts";
import type { Logger } from "../logger.ts";

export const FIELD_ISSUES_METADATA = "nnserve-field-issues-bin";
export const ERROR_CODE_METADATA = "nnserve-error-code";

/** grpc-js sends details in a header; stay well below the usual 8 KiB header limit. */
const MAX_DETAILS_CHARS = 2_000;

export type GrpcError = Partial<ServiceError> & { code: status; details: string };

export function toGrpcError(error: unknown, logger: Logger, method: string): GrpcError {
  const app = error instanceof AppError ? error : internalError(undefined, error);
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
  metadata.set(ERROR_CODE_METADATA, app.code);
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
