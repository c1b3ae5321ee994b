/**
 * Aliases: names that point at one ready version of a model (`production`, `staging`). Setting,
 * moving and removing one, and rolling it back to the version it held before, each write their
 * history event in the same transaction (history.ts) and then tell this process's resolver
 * (`routingChanged`); other replicas see the change within their resolver's TTL.
 */
import type { Database } from "../../platform/db/client.ts";
import { conflict, notFound } from "../../platform/errors.ts";
import type { DomainEvents } from "../../platform/events.ts";
import { type DeleteVersionOptions, deleteVersion } from "./delete-version.ts";
import { listHistory, recordEvent } from "./history.ts";
import { lockModel, readyVersion } from "./model-lock.ts";
import { rollbackTarget } from "./rollback.ts";
import type { Actor, AliasView, HistoryPage, HistoryQuery } from "./schemas.ts";

export interface ChangeOptions {
  reason?: string | undefined;
  actor: Actor;
}

export interface AliasService {
  list(model: string): Promise<AliasView[]>;
  /** Points `alias` at `version` (set or moved); unchanged when it already points there. */
  set(model: string, alias: string, version: number, options: ChangeOptions): Promise<AliasView>;
  remove(model: string, alias: string, options: ChangeOptions): Promise<void>;
  /** Back to the version the alias held before its latest set or move; 409 when there is none. */
  rollback(model: string, alias: string, options: ChangeOptions): Promise<AliasView>;
  history(model: string, query: HistoryQuery): Promise<HistoryPage>;
  /** 409 when an alias or the split uses it, unless `force` (which removes them, recorded). */
  deleteVersion(model: string, version: number, options: DeleteVersionOptions): Promise<void>;
}

export function createAliasService({
  db,
  events,
}: {
  db: Database;
  events?: DomainEvents;
}): AliasService {
  const { prisma } = db;
  const changed = (model: string) => events?.emit("routingChanged", { model });

  async function aliasRow(modelId: string, alias: string) {
    return prisma.modelAlias.findUnique({
      where: { modelId_alias: { modelId, alias } },
      include: { version: { select: { version: true } } },
    });
  }

  return {
    async list(model) {
      const found = await prisma.model.findUnique({
        where: { name: model },
        select: {
          aliases: {
            orderBy: { alias: "asc" },
            include: { version: { select: { version: true } } },
          },
        },
      });
      if (!found) throw notFound("model", model);
      return found.aliases.map((a) => ({
        alias: a.alias,
        version: a.version.version,
        updatedAt: a.updatedAt.toISOString(),
        updatedBy: a.updatedBy,
      }));
    },

    async set(model, alias, version, { reason, actor }) {
      const view = await prisma.$transaction(async (tx) => {
        const locked = await lockModel(tx, model);
        const target = await readyVersion(tx, locked, version, "version");
        const current = await tx.modelAlias.findUnique({
          where: { modelId_alias: { modelId: locked.id, alias } },
          include: { version: { select: { version: true } } },
        });
        if (current?.versionId === target.id) return undefined;
        const row = await tx.modelAlias.upsert({
          where: { modelId_alias: { modelId: locked.id, alias } },
          create: { modelId: locked.id, alias, versionId: target.id, updatedBy: actor },
          update: { versionId: target.id, updatedBy: actor, updatedAt: new Date() },
        });
        await recordEvent(tx, {
          model,
          modelId: locked.id,
          kind: current ? "alias_moved" : "alias_set",
          alias,
          fromVersion: current?.version.version ?? null,
          toVersion: version,
          reason,
          actor,
        });
        return { alias, version, updatedAt: row.updatedAt.toISOString(), updatedBy: actor };
      });
      if (view) {
        changed(model);
        return view;
      }
      // Already there: nothing changed, nothing recorded.
      const found = await prisma.model.findUniqueOrThrow({ where: { name: model } });
      const row = (await aliasRow(found.id, alias))!;
      return {
        alias,
        version: row.version.version,
        updatedAt: row.updatedAt.toISOString(),
        updatedBy: row.updatedBy,
      };
    },

    async remove(model, alias, { reason, actor }) {
      await prisma.$transaction(async (tx) => {
        const locked = await lockModel(tx, model);
        const current = await tx.modelAlias.findUnique({
          where: { modelId_alias: { modelId: locked.id, alias } },
          include: { version: { select: { version: true } } },
        });
        if (!current) throw notFound("alias", `${model}:${alias}`);
        await tx.modelAlias.delete({ where: { modelId_alias: { modelId: locked.id, alias } } });
        await recordEvent(tx, {
          model,
          modelId: locked.id,
          kind: "alias_removed",
          alias,
          fromVersion: current.version.version,
          reason,
          actor,
        });
      });
      changed(model);
    },

    async rollback(model, alias, { reason, actor }) {
      const view = await prisma.$transaction(async (tx) => {
        const locked = await lockModel(tx, model);
        const current = await tx.modelAlias.findUnique({
          where: { modelId_alias: { modelId: locked.id, alias } },
          include: { version: { select: { version: true } } },
        });
        const steps = await tx.modelEvent.findMany({
          where: { modelId: locked.id, alias },
          orderBy: { id: "asc" },
          select: { kind: true, toVersion: true },
        });
        const previous = rollbackTarget(steps);
        if (previous === undefined) {
          const error = conflict(
            `Alias "${alias}" of model "${model}" has no earlier version to roll back to.`,
          );
          error.errors.push({ path: "alias", message: "has no earlier version" });
          throw error;
        }
        const target = await readyVersion(tx, locked, previous, "alias");
        const row = await tx.modelAlias.upsert({
          where: { modelId_alias: { modelId: locked.id, alias } },
          create: { modelId: locked.id, alias, versionId: target.id, updatedBy: actor },
          update: { versionId: target.id, updatedBy: actor, updatedAt: new Date() },
        });
        await recordEvent(tx, {
          model,
          modelId: locked.id,
          kind: "rollback",
          alias,
          fromVersion: current?.version.version ?? null,
          toVersion: previous,
          reason,
          actor,
        });
        return {
          alias,
          version: previous,
          updatedAt: row.updatedAt.toISOString(),
          updatedBy: actor,
        };
      });
      changed(model);
      return view;
    },

    history: (model, query) => listHistory(prisma, model, query),

    async deleteVersion(model, version, options) {
      await prisma.$transaction((tx) => deleteVersion(tx, model, version, options));
      changed(model);
    },
  };
}
