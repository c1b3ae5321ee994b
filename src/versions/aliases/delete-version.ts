/**
 * Deleting one version of a model. A version an alias or the traffic split uses is refused (409)
 * unless forced; forced, the aliases and the split that use it go first, each recorded, then the
 * version (its job, epochs and examples cascade), recorded as version_deleted.
 */
import type { Prisma } from "../../generated/prisma/client.ts";
import { readStored } from "../../platform/db/stored-json.ts";
import { AppError, conflict } from "../../platform/errors.ts";
import { storedSplitColumn } from "../stored-columns.ts";
import { recordEvent } from "./history.ts";
import { type LockedModel, lockModel } from "./model-lock.ts";
import type { Actor } from "./schemas.ts";

export interface DeleteVersionOptions {
  force: boolean;
  reason?: string | undefined;
  actor: Actor;
}

export async function deleteVersion(
  tx: Prisma.TransactionClient,
  model: string,
  version: number,
  { force, reason, actor }: DeleteVersionOptions,
): Promise<void> {
  const locked = await lockModel(tx, model);
  const row = await tx.modelVersion.findUnique({
    where: { modelId_version: { modelId: locked.id, version } },
    select: { id: true },
  });
  if (!row) {
    throw new AppError("NOT_FOUND", `Model "${model}" has no version ${version}.`, {
      errors: [{ path: "version", message: `is not a version of model "${model}"` }],
    });
  }
  const aliases = await tx.modelAlias.findMany({
    where: { versionId: row.id },
    select: { alias: true },
    orderBy: { alias: "asc" },
  });
  const traffic = await tx.trafficSplit.findUnique({ where: { modelId: locked.id } });
  const inSplit =
    traffic !== null &&
    (traffic.shadowVersion === version ||
      readStored(storedSplitColumn, traffic.split, `traffic split of model "${locked.name}"`).some(
        (e) => e.version === version,
      ));
  if ((aliases.length > 0 || inSplit) && !force) {
    const users = [
      ...aliases.map((a) => `alias "${a.alias}"`),
      ...(inSplit ? ["the traffic split"] : []),
    ].join(" and ");
    const error = conflict(
      `Version ${version} of model "${model}" is used by ${users}; move them first, or delete with ?force=true to remove them too.`,
    );
    error.errors.push({ path: "force", message: `is needed: the version is used by ${users}` });
    throw error;
  }
  await release(tx, locked, version, aliases, inSplit, actor);
  await tx.modelVersion.delete({ where: { id: row.id } });
  await recordEvent(tx, {
    model,
    modelId: locked.id,
    kind: "version_deleted",
    fromVersion: version,
    reason,
    actor,
  });
}

/** A forced delete: the aliases and split that use the version go, each recorded. */
async function release(
  tx: Prisma.TransactionClient,
  locked: LockedModel,
  version: number,
  aliases: { alias: string }[],
  inSplit: boolean,
  actor: Actor,
) {
  const reason = `version ${version} deleted`;
  for (const { alias } of aliases) {
    await tx.modelAlias.delete({ where: { modelId_alias: { modelId: locked.id, alias } } });
    await recordEvent(tx, {
      model: locked.name,
      modelId: locked.id,
      kind: "alias_removed",
      alias,
      fromVersion: version,
      reason,
      actor,
    });
  }
  if (inSplit) {
    await tx.trafficSplit.delete({ where: { modelId: locked.id } });
    await recordEvent(tx, {
      model: locked.name,
      modelId: locked.id,
      kind: "traffic_cleared",
      reason,
      actor,
    });
  }
}
