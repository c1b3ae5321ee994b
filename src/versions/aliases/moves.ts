/**
 * The two ways an alias moves, each inside the caller's transaction with the model locked:
 * `point` (set or move to a named version) and `rollBack` (to the version it held before, read
 * from its history: rollback.ts). Each writes the alias and its history event together.
 */
import type { Prisma } from "../../generated/prisma/client.ts";
import { conflict } from "../../platform/errors.ts";
import { recordEvent } from "./history.ts";
import { type LockedModel, readyVersion, type VersionRow } from "./model-lock.ts";
import { rollbackTarget } from "./rollback.ts";
import type { Actor, AliasView } from "./schemas.ts";

type Tx = Prisma.TransactionClient;

export interface Move {
  reason?: string | undefined;
  actor: Actor;
}

async function current(tx: Tx, model: LockedModel, alias: string) {
  return tx.modelAlias.findUnique({
    where: { modelId_alias: { modelId: model.id, alias } },
    include: { version: { select: { version: true } } },
  });
}

async function write(tx: Tx, model: LockedModel, alias: string, target: VersionRow, actor: Actor) {
  const row = await tx.modelAlias.upsert({
    where: { modelId_alias: { modelId: model.id, alias } },
    create: { modelId: model.id, alias, versionId: target.id, updatedBy: actor },
    update: { versionId: target.id, updatedBy: actor, updatedAt: new Date() },
  });
  return {
    alias,
    version: target.version,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: actor,
  };
}

/** Points `alias` at `version`; `changed` false when it already pointed there (nothing written). */
export async function point(
  tx: Tx,
  model: LockedModel,
  alias: string,
  version: number,
  { reason, actor }: Move,
): Promise<{ view: AliasView; changed: boolean }> {
  const target = await readyVersion(tx, model, version, "version");
  const before = await current(tx, model, alias);
  if (before?.versionId === target.id) {
    const view = {
      alias,
      version,
      updatedAt: before.updatedAt.toISOString(),
      updatedBy: before.updatedBy,
    };
    return { view, changed: false };
  }
  const view = await write(tx, model, alias, target, actor);
  await recordEvent(tx, {
    model: model.name,
    modelId: model.id,
    kind: before ? "alias_moved" : "alias_set",
    alias,
    fromVersion: before?.version.version ?? null,
    toVersion: version,
    reason,
    actor,
  });
  return { view, changed: true };
}

/** Back to the version the alias held before its latest set or move; 409 when there is none. */
export async function rollBack(
  tx: Tx,
  model: LockedModel,
  alias: string,
  { reason, actor }: Move,
): Promise<AliasView> {
  const before = await current(tx, model, alias);
  const steps = await tx.modelEvent.findMany({
    where: { modelId: model.id, alias },
    orderBy: { id: "asc" },
    select: { kind: true, toVersion: true },
  });
  const previous = rollbackTarget(steps);
  if (previous === undefined) {
    const error = conflict(
      `Alias "${alias}" of model "${model.name}" has no earlier version to roll back to.`,
    );
    error.errors.push({ path: "alias", message: "has no earlier version" });
    throw error;
  }
  const target = await readyVersion(tx, model, previous, "alias");
  const view = await write(tx, model, alias, target, actor);
  await recordEvent(tx, {
    model: model.name,
    modelId: model.id,
    kind: "rollback",
    alias,
    fromVersion: before?.version.version ?? null,
    toVersion: previous,
    reason,
    actor,
  });
  return view;
}
