/**
 * nnserve.v1.Lifecycle: aliases, rollback, history and traffic, as the REST routes under
 * /models/{name} (aliases, rollback, history, traffic). Requests go through the same zod schemas,
 * so errors carry the same field paths; writes record the caller's key prefix.
 */
import type { Metadata } from "@grpc/grpc-js";
import type { Alias } from "../../generated/grpc/nnserve/v1/Alias.ts";
import type { LifecycleHandlers } from "../../generated/grpc/nnserve/v1/Lifecycle.ts";
import type { ModelEvent } from "../../generated/grpc/nnserve/v1/ModelEvent.ts";
import type { Traffic } from "../../generated/grpc/nnserve/v1/Traffic.ts";
import type { Logger } from "../../platform/logger.ts";
import { parseRequest } from "../../platform/validation/parse.ts";
import { setTrafficBodySchema, type TrafficView } from "../../prediction/traffic/schemas.ts";
import type { TrafficService } from "../../prediction/traffic/service.ts";
import {
  type AliasView,
  aliasParamsSchema,
  historyQuerySchema,
  type ModelEventView,
  rollbackBodySchema,
  setAliasBodySchema,
} from "../../versions/aliases/schemas.ts";
import type { AliasService } from "../../versions/aliases/service.ts";
import { modelVersionParamsSchema } from "../../versions/model-file-schema.ts";
import { modelParamsSchema } from "../../versions/schemas.ts";
import { callerOf } from "./auth-guard.ts";
import { timestamp } from "./convert.ts";
import { unary } from "./status.ts";

export interface LifecycleHandlerDeps {
  aliases: AliasService;
  traffic: TrafficService;
  logger: Logger;
}

/** Proto3 strings are "" when unset; the schemas want them absent. */
const text = (value: string) => (value === "" ? undefined : value);

const aliasMessage = (a: AliasView): Alias => ({
  alias: a.alias,
  version: a.version,
  updatedAt: timestamp(a.updatedAt),
  updatedBy: a.updatedBy ?? "",
});

const eventMessage = (e: ModelEventView): ModelEvent => ({
  id: e.id,
  kind: e.kind,
  at: timestamp(e.at),
  alias: e.alias ?? "",
  ...(e.fromVersion === null ? {} : { fromVersion: e.fromVersion }),
  ...(e.toVersion === null ? {} : { toVersion: e.toVersion }),
  jobId: e.jobId ?? "",
  detailJson: e.detail === null ? "" : JSON.stringify(e.detail),
  reason: e.reason ?? "",
  actor: e.actor ?? "",
});

function trafficMessage(t: TrafficView): Traffic {
  const figures = (f: TrafficView["served"][number], weight = 0) => ({
    version: f.version,
    weight,
    requests: String(f.requests),
    errors: String(f.errors),
    ...(f.p50Ms === null ? {} : { p50Ms: f.p50Ms }),
    ...(f.p99Ms === null ? {} : { p99Ms: f.p99Ms }),
  });
  const s = t.shadow;
  return {
    split: t.split.map((entry) => figures(entry, entry.weight)),
    ...(s
      ? {
          shadow: {
            version: s.version,
            requests: String(s.requests),
            errors: String(s.errors),
            skipped: String(s.skipped),
            rowsCompared: String(s.rowsCompared),
            ...(s.labelAgreement === null ? {} : { labelAgreement: s.labelAgreement }),
            ...(s.meanAbsoluteDifference === null
              ? {}
              : { meanAbsoluteDifference: s.meanAbsoluteDifference }),
          },
        }
      : {}),
    stickyBy: t.stickyBy ?? "",
    ...(t.updatedAt === null ? {} : { updatedAt: timestamp(t.updatedAt) }),
    updatedBy: t.updatedBy ?? "",
    served: t.served.map((f) => figures(f)),
  };
}

export function lifecycleHandlers({
  aliases,
  traffic,
  logger,
}: LifecycleHandlerDeps): LifecycleHandlers {
  const name = (value: string) => parseRequest(modelParamsSchema, { name: value }).name;
  const actor = (metadata: Metadata) => callerOf(metadata)?.prefix ?? null;
  return {
    ListAliases: unary(logger, "ListAliases", async (req) => ({
      aliases: (await aliases.list(name(req.name))).map(aliasMessage),
    })),
    SetAlias: unary(logger, "SetAlias", async (req, call) => {
      const params = parseRequest(aliasParamsSchema, { name: req.name, alias: req.alias });
      const body = parseRequest(setAliasBodySchema, {
        version: req.version,
        reason: text(req.reason),
      });
      return aliasMessage(
        await aliases.set(params.name, params.alias, body.version, {
          reason: body.reason,
          actor: actor(call.metadata),
        }),
      );
    }),
    RemoveAlias: unary(logger, "RemoveAlias", async (req, call) => {
      const params = parseRequest(aliasParamsSchema, { name: req.name, alias: req.alias });
      await aliases.remove(params.name, params.alias, {
        reason: text(req.reason),
        actor: actor(call.metadata),
      });
      return {};
    }),
    Rollback: unary(logger, "Rollback", async (req, call) => {
      const model = name(req.name);
      const body = parseRequest(rollbackBodySchema, {
        alias: text(req.alias),
        reason: text(req.reason),
      });
      return aliasMessage(
        await aliases.rollback(model, body.alias, {
          reason: body.reason,
          actor: actor(call.metadata),
        }),
      );
    }),
    GetHistory: unary(logger, "GetHistory", async (req) => {
      const model = name(req.name);
      const query = parseRequest(historyQuerySchema, {
        ...(req.limit === 0 ? {} : { limit: req.limit }),
        cursor: text(req.cursor),
      });
      const page = await aliases.history(model, query);
      return { events: page.events.map(eventMessage), nextCursor: page.nextCursor ?? "" };
    }),
    GetTraffic: unary(logger, "GetTraffic", async (req) =>
      trafficMessage(await traffic.get(name(req.name))),
    ),
    SetTraffic: unary(logger, "SetTraffic", async (req, call) => {
      const model = name(req.name);
      const { reason, ...body } = parseRequest(setTrafficBodySchema, {
        split: req.split.map((entry) => ({ version: entry.version, weight: entry.weight })),
        ...(req.shadowVersion === undefined ? {} : { shadow: { version: req.shadowVersion } }),
        stickyBy: text(req.stickyBy),
        reason: text(req.reason),
      });
      return trafficMessage(
        await traffic.set(model, body, { reason, actor: actor(call.metadata) }),
      );
    }),
    DeleteVersion: unary(logger, "DeleteVersion", async (req, call) => {
      const { name, version } = parseRequest(modelVersionParamsSchema, {
        name: req.name,
        version: req.version,
      });
      await aliases.deleteVersion(name, version, {
        force: req.force,
        reason: text(req.reason),
        actor: actor(call.metadata),
      });
      return {};
    }),
    ClearTraffic: unary(logger, "ClearTraffic", async (req, call) => {
      await traffic.clear(name(req.name), {
        reason: text(req.reason),
        actor: actor(call.metadata),
      });
      return {};
    }),
  };
}
