/**
 * The gRPC side of src/transport/http/plugins/auth.ts and protection.ts, as one server interceptor: while
 * shutting down or overloaded (the HTTP side's measure), new calls but health get UNAVAILABLE
 * (with `retry-after` metadata when overloaded); with AUTH on, a call needs `authorization:
 * Bearer <API key>` metadata with the scope its method needs (scopes.ts), else UNAUTHENTICATED
 * or PERMISSION_DENIED; past the key's calls per minute, RESOURCE_EXHAUSTED. The key is removed
 * from the metadata before any handler sees it, so no handler can log it; a handler finds the
 * verified key with `callerOf(call.metadata)` (Train passes it to the training service, which
 * links the job to the key and enforces the key's job limit in the job's own transaction).
 *
 * Refusals are AppErrors sent through toGrpcError (src/transport/grpc/status.ts), like the handlers' errors:
 * the gRPC code errors.ts gives the AppError's code (whose entry also gives REST's status), its
 * message, and the same trailing metadata (nnserve-error-code, grpc-status-details-bin).
 */
import { Metadata, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { authorize } from "../../auth/authorize.ts";
import { AuthFailureLimiter, retryAfterOf } from "../../auth/failure-limiter.ts";
import type { Caller, KeyStore } from "../../auth/key-store.ts";
import { grpcRequirement } from "../../auth/scopes.ts";
import { AppError, isAppError, unavailable } from "../../platform/errors.ts";
import type { Logger } from "../../platform/logger.ts";
import { toGrpcError } from "./status.ts";

export interface GrpcGuardOptions {
  auth: boolean;
  keys?: KeyStore;
  /** Calls per minute per key, counted in this process like REST's limit; 0: off. */
  rateLimitPerMinute?: number;
  /** Failed authentications per client address per minute; 0: no limit. */
  authMaxFailuresPerMinute?: number;
  shuttingDown?: () => boolean;
  /** True while the process is past an overload threshold (@fastify/under-pressure's measure). */
  overloaded?: () => boolean;
  retryAfterSeconds?: number;
  logger: Logger;
}

// The key of each admitted call, by the metadata object that grpc-js hands on to the handler
// as `call.metadata`. Unlike a metadata entry, no client can set it.
const callers = new WeakMap<Metadata, Caller>();

/** The verified API key of a call the guard admitted; undefined with AUTH off or open methods. */
export function callerOf(metadata: Metadata): Caller | undefined {
  return callers.get(metadata);
}

export function createGrpcGuard({
  auth,
  keys,
  rateLimitPerMinute = 0,
  authMaxFailuresPerMinute = 0,
  shuttingDown,
  overloaded,
  retryAfterSeconds = 10,
  logger,
}: GrpcGuardOptions): ServerInterceptor {
  if (auth && !keys) throw new Error("AUTH=on needs a key store");
  const failures = new AuthFailureLimiter(authMaxFailuresPerMinute);
  // Fixed one-minute windows per key, as @fastify/rate-limit counts REST requests.
  const windows = new Map<string, { start: number; count: number }>();
  function overRate(caller: Caller): number | undefined {
    const now = Date.now();
    let window = windows.get(caller.keyId);
    if (!window || now - window.start >= 60_000) {
      if (windows.size > 10_000) windows.clear();
      window = { start: now, count: 0 };
      windows.set(caller.keyId, window);
    }
    window.count++;
    return window.count > rateLimitPerMinute
      ? Math.ceil((window.start + 60_000 - now) / 1000)
      : undefined;
  }

  return (method, call) => {
    const requirement = grpcRequirement(method.path);
    const fail = (error: AppError, retryAfterS?: number) => {
      const { code, details, metadata = new Metadata() } = toGrpcError(error, logger, method.path);
      if (retryAfterS !== undefined) metadata.set("retry-after", String(retryAfterS));
      call.sendStatus({ code, details, metadata });
    };

    async function admit(metadata: Metadata): Promise<void> {
      const header = metadata.get("authorization")[0];
      metadata.remove("authorization");
      if (!auth || requirement === "open") return;
      const address = peerAddress(call.getPeer());
      failures.check(address);
      const caller = await authorize(
        keys!,
        typeof header === "string" ? header : undefined,
        requirement,
      ).catch((error: unknown) => {
        if (isAppError(error) && error.code === "UNAUTHENTICATED") failures.failed(address);
        throw error;
      });
      if (caller) callers.set(metadata, caller);
      if (caller && rateLimitPerMinute > 0) {
        const retryAfter = overRate(caller);
        if (retryAfter !== undefined) {
          throw new AppError(
            "TOO_MANY_REQUESTS",
            `Rate limit: API key ${caller.prefix} may make ${rateLimitPerMinute} calls per minute; retry in ${retryAfter} s.`,
          );
        }
      }
    }

    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, pass) {
            if (shuttingDown?.() && requirement !== "open") {
              fail(
                unavailable(
                  "This server is shutting down; retry the call (another replica will answer).",
                ),
              );
              return;
            }
            if (overloaded?.() && requirement !== "open") {
              fail(
                unavailable(`The server is overloaded; retry after ${retryAfterSeconds} s.`),
                retryAfterSeconds,
              );
              return;
            }
            admit(metadata).then(
              () => pass(metadata),
              (error: unknown) => {
                if (isAppError(error)) return fail(error, retryAfterOf(error));
                logger.error({ err: error, method: method.path }, "checking the API key failed");
                fail(unavailable("The API key could not be checked; retry shortly."));
              },
            );
          },
        });
      },
    });
  };
}

/** The address of a peer as grpc-js names it ("ipv4:1.2.3.4:5678", "[::1]:5678"), port dropped. */
function peerAddress(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, "");
  const bracketed = /^\[([^\]]+)\]/.exec(bare);
  if (bracketed) return bracketed[1]!;
  const colon = bare.lastIndexOf(":");
  return colon > 0 && bare.indexOf(":") === colon ? bare.slice(0, colon) : bare;
}
