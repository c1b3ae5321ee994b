/**
 * Who may do what over REST: with AUTH on, every route but the probes and /metrics needs
 * `Authorization: Bearer <API key>` with the scope the route needs (src/auth/scopes.ts): 401
 * without a valid key, 403 without the scope, both problem+json. Then, per key, a request rate
 * limit (@fastify/rate-limit, counted in each process), 429. The verified key is
 * `request.caller`: POST /train passes it to the training service, which links the job to it and
 * enforces the key's limit of queued and running jobs in the job's own transaction. The admin API
 * for keys is routes/admin-keys.ts, registered by buildApp after the API so that it shares the
 * API's error handling.
 */
import fastifyRateLimit from "@fastify/rate-limit";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { authorize } from "../../../auth/authorize.ts";
import { AuthFailureLimiter, retryAfterOf } from "../../../auth/failure-limiter.ts";
import type { Caller, KeyStore } from "../../../auth/key-store.ts";
import { restRequirement } from "../../../auth/scopes.ts";
import type { Config } from "../../../platform/config.ts";
import { AppError, isAppError } from "../../../platform/errors.ts";
import { isProbe } from "../probes.ts";
import { sendProblem } from "../problem.ts";
import { REQUEST_ID_HEADER } from "../request-id.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The verified API key of the request; undefined on open routes and with AUTH=off. */
    caller?: Caller;
  }
}

export interface AuthOptions {
  config: Pick<Config, "auth" | "rateLimitPerMinute"> &
    Partial<Pick<Config, "authMaxFailuresPerMinute">>;
  /** Required with AUTH on; without it there is no admin API. */
  keys?: KeyStore;
}

const pathOf = (request: FastifyRequest) => request.url.split("?")[0]!;

function refuse(request: FastifyRequest, reply: FastifyReply, error: AppError) {
  reply.header(REQUEST_ID_HEADER, request.id);
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) reply.header("retry-after", String(retryAfter));
  if (error.code === "UNAUTHENTICATED") reply.header("www-authenticate", 'Bearer realm="nnserve"');
  return sendProblem(reply, error);
}

const auth: FastifyPluginAsync<AuthOptions> = async (app, { config, keys }) => {
  app.decorateRequest("caller", undefined);

  if (config.auth) {
    if (!keys) throw new Error("AUTH=on needs a key store");
    const failures = new AuthFailureLimiter(config.authMaxFailuresPerMinute ?? 0);
    app.addHook("onRequest", async (request, reply) => {
      const requirement = restRequirement(
        request.method,
        request.routeOptions.url,
        pathOf(request),
      );
      if (requirement === "open") return;
      try {
        failures.check(request.ip);
        request.caller = await authorize(keys, request.headers.authorization, requirement);
      } catch (error) {
        if (!isAppError(error)) throw error;
        if (error.code === "UNAUTHENTICATED") failures.failed(request.ip);
        return refuse(request, reply, error);
      }
    });
  }

  if (config.rateLimitPerMinute > 0) {
    await app.register(fastifyRateLimit, {
      global: true,
      max: config.rateLimitPerMinute,
      timeWindow: 60_000,
      // Runs after the key check above (route hooks follow the instance's), so it knows the key.
      keyGenerator: (request) =>
        request.caller ? `key:${request.caller.keyId}` : `ip:${request.ip}`,
      // Only requests with a key are counted: AUTH=off (development, benchmarks) is not limited.
      allowList: (request) => !request.caller || isProbe(request),
      errorResponseBuilder: (request, context) => {
        const who = request.caller ? `API key ${request.caller.prefix}` : "this client";
        return new AppError(
          "TOO_MANY_REQUESTS",
          `Rate limit: ${who} may send ${context.max} requests per minute; retry in ${context.after}.`,
        );
      },
    });
  }
};

export const authPlugin = fp(auth, { name: "nnserve-auth", fastify: "5.x" });
