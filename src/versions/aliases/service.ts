/**
 * Aliases: names that point at one ready version of a model (`production`, `staging`). Setting,
 * moving and removing one, rolling it back to the version it held before, and deleting a version
 * each lock the model and write their history event in the same transaction (history.ts), then
 * tell this process's resolver (`routingChanged`); other replicas see the change within their
 * resolver's TTL.
 */
import type { Database } from "../../platform/db/client.ts";
import { notFound } from "../../platform/errors.ts";
import type { DomainEvents } from "../../platform/events.ts";
import { type DeleteVersionOptions, deleteVersion } from "./delete-version.ts";
import { listHistory, recordEvent } from "./history.ts";
import { lockModel } from "./model-lock.ts";
import { type Move, point, rollBack } from "./moves.ts";
import type { AliasView, HistoryPage, HistoryQuery } from "./schemas.ts";

export type ChangeOptions = Move;

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

    async set(model, alias, version, move) {
      const result = await prisma.$transaction(async (tx) =>
        point(tx, await lockModel(tx, model), alias, version, move),
      );
      if (result.changed) changed(model);
      return result.view;
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

    async rollback(model, alias, move) {
      const view = await prisma.$transaction(async (tx) =>
        rollBack(tx, await lockModel(tx, model), alias, move),
      );
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
