/**
 * Coded errors shared by every transport. A service throws an AppError; REST turns it into an
 * RFC 9457 problem (status, type URI from the code) and gRPC into a status code, so each code
 * carries both mappings here and the transports never guess.
 */
import type { core } from "zod";

/** gRPC status codes as plain numbers, so this module needs no gRPC dependency. */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export const ERROR_CODES = {
  VALIDATION_FAILED: {
    status: 400,
    grpc: GRPC_STATUS.INVALID_ARGUMENT,
    title: "Validation failed",
  },
  MALFORMED_REQUEST: {
    status: 400,
    grpc: GRPC_STATUS.INVALID_ARGUMENT,
    title: "Malformed request",
  },
  UNAUTHENTICATED: { status: 401, grpc: GRPC_STATUS.UNAUTHENTICATED, title: "Unauthenticated" },
  FORBIDDEN: { status: 403, grpc: GRPC_STATUS.PERMISSION_DENIED, title: "Forbidden" },
  NOT_FOUND: { status: 404, grpc: GRPC_STATUS.NOT_FOUND, title: "Not found" },
  METHOD_NOT_ALLOWED: {
    status: 405,
    grpc: GRPC_STATUS.UNIMPLEMENTED,
    title: "Method not allowed",
  },
  ALREADY_EXISTS: { status: 409, grpc: GRPC_STATUS.ALREADY_EXISTS, title: "Already exists" },
  CONFLICT: { status: 409, grpc: GRPC_STATUS.FAILED_PRECONDITION, title: "Conflict" },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    grpc: GRPC_STATUS.RESOURCE_EXHAUSTED,
    title: "Payload too large",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    grpc: GRPC_STATUS.INVALID_ARGUMENT,
    title: "Unsupported media type",
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    grpc: GRPC_STATUS.FAILED_PRECONDITION,
    title: "Idempotency key reused",
  },
  TOO_MANY_REQUESTS: {
    status: 429,
    grpc: GRPC_STATUS.RESOURCE_EXHAUSTED,
    title: "Too many requests",
  },
  INTERNAL: { status: 500, grpc: GRPC_STATUS.INTERNAL, title: "Internal error" },
  UNAVAILABLE: { status: 503, grpc: GRPC_STATUS.UNAVAILABLE, title: "Service unavailable" },
} as const satisfies Record<string, { status: number; grpc: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem with one field. `path` is dotted with indexes: `network.layers[1].units`. */
export interface FieldIssue {
  path: string;
  message: string;
}

const PROBLEM_BASE = "https://nnserve.dev/problems/";

/** The RFC 9457 `type` URI of a code: VALIDATION_FAILED -> .../problems/validation-failed. */
export function problemType(code: ErrorCode): string {
  return PROBLEM_BASE + code.toLowerCase().replaceAll("_", "-");
}

export interface AppErrorOptions {
  errors?: FieldIssue[];
  cause?: unknown;
  /** Only for an HTTP status no code covers (a 4xx fastify raises, say); keeps the code's gRPC status. */
  status?: number;
  title?: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Named like fastify's own errors so fastify treats it as an HTTP error too. */
  readonly statusCode: number;
  readonly grpcCode: number;
  readonly title: string;
  readonly errors: FieldIssue[];

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    const spec = ERROR_CODES[code];
    this.code = code;
    this.statusCode = options.status ?? spec.status;
    this.grpcCode = spec.grpc;
    this.title = options.title ?? spec.title;
    this.errors = options.errors ?? [];
  }

  /** Messages of 5xx errors may carry internals (SQL, stack context); only INTERNAL is hidden. */
  get exposeMessage(): boolean {
    return this.code !== "INTERNAL";
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

export function validationError(
  errors: FieldIssue[],
  message = "Invalid request; see errors for each field.",
): AppError {
  return new AppError("VALIDATION_FAILED", message, { errors });
}

export function malformedRequest(message: string): AppError {
  return new AppError("MALFORMED_REQUEST", message);
}

/** notFound("model", "xor") -> 'No model named "xor" exists.' */
export function notFound(what: string, id: string | number): AppError {
  return new AppError("NOT_FOUND", `No ${what} "${id}" exists.`);
}

/** A request that cannot apply in the resource's current state (cancel a finished job). */
export function conflict(message: string): AppError {
  return new AppError("CONFLICT", message);
}

export function alreadyExists(what: string, id: string | number): AppError {
  return new AppError("ALREADY_EXISTS", `A ${what} "${id}" already exists.`);
}

export function idempotencyKeyReused(): AppError {
  return new AppError(
    "IDEMPOTENCY_KEY_REUSED",
    "This Idempotency-Key was already used with a different request body; use a new key for a new request.",
  );
}

/** An API key already has its limit of queued and running training jobs. */
export function tooManyJobs(keyPrefix: string, active: number, limit: number): AppError {
  return new AppError(
    "TOO_MANY_REQUESTS",
    `API key ${keyPrefix} has ${active} queued or running training jobs, the limit is ${limit}; wait for one to finish or cancel one.`,
  );
}

export function payloadTooLarge(
  limitBytes: number,
  advice = "send fewer rows per request",
): AppError {
  return new AppError(
    "PAYLOAD_TOO_LARGE",
    `The request body is larger than the limit of ${limitBytes} bytes; ${advice}.`,
  );
}

export function unsupportedMediaType(contentType: string | undefined): AppError {
  const got = contentType ? `"${contentType}"` : "no Content-Type";
  return new AppError(
    "UNSUPPORTED_MEDIA_TYPE",
    `Unsupported content type (${got}); send the body as application/json.`,
  );
}

export function unavailable(message: string, cause?: unknown): AppError {
  return new AppError("UNAVAILABLE", message, { cause });
}

export function internalError(message = "An internal error occurred.", cause?: unknown): AppError {
  return new AppError("INTERNAL", message, { cause });
}

// Dashes are allowed so header names read naturally (`idempotency-key`).
const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/** ["data", "inputs", 3, 2] -> "data.inputs[3][2]"; the empty path (the whole body) is "". */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else {
      const name = String(key);
      if (IDENTIFIER.test(name)) out += out === "" ? name : `.${name}`;
      else out += `[${JSON.stringify(name)}]`;
    }
  }
  return out;
}

/** A JSON pointer as found in Ajv/fastify validation errors ("/data/inputs/3") as a dotted path. */
export function pointerToPath(pointer: string): string {
  const keys: PropertyKey[] = pointer
    .split("/")
    .slice(1)
    .map((raw) => raw.replaceAll("~1", "/").replaceAll("~0", "~"))
    .map((key) => (/^\d+$/.test(key) ? Number(key) : key));
  return formatPath(keys);
}

/** Enough for a person to fix a request; a body with a million bad numbers needs no million lines. */
export const MAX_FIELD_ISSUES = 50;

const NON_FINITE = new Set(["Infinity", "-Infinity", "NaN"]);

export const NON_FINITE_MESSAGE =
  "must be a finite number (a JSON number beyond ±1.8e308 overflows to Infinity)";

function issueMessage(issue: core.$ZodIssue): string {
  if (issue.code === "invalid_type") {
    const received = (issue as { received?: unknown }).received;
    if (typeof received === "string" && NON_FINITE.has(received)) {
      return NON_FINITE_MESSAGE;
    }
    if ("input" in issue && issue.input === undefined) return "is required";
    if (issue.message.endsWith("received undefined")) return "is required";
  }
  return issue.message;
}

/**
 * Zod issues as field issues. An unknown field gets its own path (`training.epoch`) so the
 * client sees exactly which key to rename; union branches are flattened to their first match.
 */
export function zodIssues(
  issues: readonly core.$ZodIssue[],
  max: number = MAX_FIELD_ISSUES,
): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    if (out.length >= max) break;
    if (issue.code === "unrecognized_keys" && issue.keys.length === 1) {
      out.push({ path: formatPath([...issue.path, issue.keys[0]!]), message: issue.message });
    } else {
      out.push({ path: formatPath(issue.path), message: issueMessage(issue) });
    }
  }
  if (issues.length > max) {
    out.push({ path: "", message: `${issues.length - max} more issues not shown` });
  }
  return out;
}

/** The ZodError of a request as a VALIDATION_FAILED AppError. */
export function fromZodError(
  error: { issues: readonly core.$ZodIssue[] },
  message?: string,
): AppError {
  return validationError(zodIssues(error.issues), message);
}
