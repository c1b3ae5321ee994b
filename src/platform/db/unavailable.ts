/**
 * Is this error the database being out of reach (stopped, restarting, the network gone), as
 * opposed to anything about the statement? Requests that fail so answer 503 with Retry-After
 * (gRPC UNAVAILABLE), the way /readyz already says it, rather than 500: the client did nothing
 * wrong and should come back. Errors are searched down their `cause` chain and Prisma's driver
 * adapter error, where pg's own error ends up.
 */

// Connection-level SQLSTATEs: the server is going away, starting up or refusing connections.
const unavailableSqlStates = new Set(["53300", "57P01", "57P02", "57P03"]);

// Node's socket and DNS errors on the way to the server.
const unavailableSocketCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
]);

// Prisma: can't reach the server, timed out reaching it, server closed the connection, no pool
// connection in time.
const unavailablePrismaCodes = new Set(["P1001", "P1002", "P1017", "P2024"]);

// What pg and pg-pool throw, with no code, when a connection ends or cannot be had in time.
const unavailableMessage =
  /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error|^Client was closed and is not queryable|^Can't reach database server/;

// Prisma's driver adapter error kinds for the same.
const unavailableKinds = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout"]);

/** How long a client should wait before trying again, in seconds. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 5 || error === null || typeof error !== "object") return false;
  const e = error as {
    code?: unknown;
    kind?: unknown;
    originalCode?: unknown;
    message?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: unknown };
    errors?: unknown;
  };
  for (const code of [e.code, e.originalCode]) {
    if (typeof code !== "string") continue;
    if (unavailableSqlStates.has(code) || code.startsWith("08")) return true;
    if (unavailableSocketCodes.has(code) || unavailablePrismaCodes.has(code)) return true;
  }
  if (typeof e.kind === "string" && unavailableKinds.has(e.kind)) return true;
  if (typeof e.message === "string" && unavailableMessage.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1)))
    return true;
  return (
    isDatabaseUnavailable(e.meta?.driverAdapterError, depth + 1) ||
    isDatabaseUnavailable(e.cause, depth + 1)
  );
}
