/**
 * One check for both transports: the presented credential (an `authorization` header or
 * metadata value, `Bearer <key>`) against what the operation requires (scopes.ts). Throws
 * UNAUTHENTICATED (401 / gRPC 16) for a missing, malformed, unknown or revoked key and FORBIDDEN
 * (403 / gRPC 7) for a key without the scope. Messages name the key only by its public prefix.
 */
import { AppError } from "../platform/errors.ts";
import type { Caller, KeyStore } from "./key-store.ts";
import { allows, bearerToken } from "./keys.ts";
import type { Requirement } from "./scopes.ts";

export async function authorize(
  keys: KeyStore,
  authorization: string | undefined,
  requirement: Requirement,
): Promise<Caller | undefined> {
  if (requirement === "open") return undefined;
  const token = bearerToken(authorization);
  if (!token) {
    throw new AppError(
      "UNAUTHENTICATED",
      authorization
        ? "The authorization is not of the form 'Bearer <API key>'."
        : "An API key is required: send 'Authorization: Bearer <API key>'.",
    );
  }
  const caller = await keys.verify(token);
  if (!caller) {
    throw new AppError("UNAUTHENTICATED", "The API key is not valid (unknown or revoked).");
  }
  if (requirement !== "any" && !requirement.some((scope) => allows(caller.scopes, scope))) {
    throw new AppError(
      "FORBIDDEN",
      `API key ${caller.prefix} lacks the scope this operation needs (${requirement.join(" or ")}); it has: ${caller.scopes.join(", ") || "none"}.`,
    );
  }
  return caller;
}
