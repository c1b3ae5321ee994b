/**
 * Every routing change of a model (alias, split, rollback, forced version delete) runs in a
 * transaction that first locks the model's row: changes to one model are serialized, so a
 * rollback reads the alias it undoes, and two replicas moving the same alias at once write two
 * events in the order they took effect.
 */
import type { Prisma } from "../../generated/prisma/client.ts";
import { AppError, conflict, notFound } from "../../platform/errors.ts";

export interface LockedModel {
  id: string;
  name: string;
}

export async function lockModel(tx: Prisma.TransactionClient, name: string): Promise<LockedModel> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT id::text AS id FROM models WHERE name = ${name} FOR UPDATE`;
  if (rows.length === 0) throw notFound("model", name);
  return { id: rows[0]!.id, name };
}

export interface VersionRow {
  id: string;
  version: number;
  status: string;
}

/**
 * A version of the locked model that may serve: 404 when the model has no such version, 409
 * when it is not ready. Both name the request field (`path`) that asked for it.
 */
export async function readyVersion(
  tx: Prisma.TransactionClient,
  model: LockedModel,
  version: number,
  path: string,
): Promise<VersionRow> {
  const row = await tx.modelVersion.findUnique({
    where: { modelId_version: { modelId: model.id, version } },
    select: { id: true, version: true, status: true },
  });
  if (!row) {
    throw new AppError("NOT_FOUND", `Model "${model.name}" has no version ${version}.`, {
      errors: [{ path, message: `is not a version of model "${model.name}"` }],
    });
  }
  if (row.status !== "ready") throw notReady(model.name, row, path);
  return row;
}

export function notReady(model: string, row: VersionRow, path: string): AppError {
  const message = `is ${row.status}, not ready; only a trained version can serve`;
  const error = conflict(`Version ${row.version} of model "${model}" ${message}.`);
  error.errors.push({ path, message });
  return error;
}
