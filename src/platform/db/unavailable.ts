/**
 * Is this error the database being out of reach (stopped, restarting, the network gone), as
 * opposed to anything about the statement? Requests that fail so answer 503 with Retry-After
 * (gRPC UNAVAILABLE), the way /readyz already says it, rather than 500: the client did nothing
 * wrong and should come back. Errors are searched down their `cause` chain and Prisma's driver
 * adapter error, where pg's own error ends up.
 */

/**
 * Connection-level SQLSTATEs (with the 08 class): the server is going away, starting up or
 * refusing connections. Also what the job queue tries again (isTransientDatabaseError).
 */
export const CONNECTION_SQL_STATES = [
  "53300", // too_many_connections
  "57P01", // admin_shutdown (pg_terminate_backend, a fast shutdown)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, in recovery)
];
const unavailableSqlStates = new Set(CONNECTION_SQL_STATES);

/** Node's socket and DNS errors on the way to the server. */
export const SOCKET_ERROR_CODES = new Set([
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

/** What pg and pg-pool throw, with no code, when a connection ends or cannot be had in time. */
export const PG_CONNECTION_LOST_MESSAGE =
  /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error|^Client was closed and is not queryable/;
// The same from Prisma, which also says when it cannot reach the server.
const unavailableMessage = new RegExp(
  `${PG_CONNECTION_LOST_MESSAGE.source}|^Can't reach database server`,
);

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
    if (SOCKET_ERROR_CODES.has(code) || unavailablePrismaCodes.has(code)) return true;
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
