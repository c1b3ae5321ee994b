/**
 * The next version number of a model, for every way a version is made (a training submission,
 * an import). The upsert locks the model's row until the transaction commits, so concurrent
 * callers for one model take version numbers one after the other, and the model is created on
 * its first version.
 */
import type { Prisma } from "../generated/prisma/client.ts";

export async function nextVersion(
  tx: Prisma.TransactionClient,
  name: string,
): Promise<{ modelId: string; version: number }> {
  const [model] = await tx.$queryRaw<{ id: string }[]>`
    INSERT INTO models (name) VALUES (${name})
    ON CONFLICT (name) DO UPDATE SET updated_at = now()
    RETURNING id`;
  const latest = await tx.modelVersion.aggregate({
    where: { modelId: model!.id },
    _max: { version: true },
  });
  return { modelId: model!.id, version: (latest._max.version ?? 0) + 1 };
}
