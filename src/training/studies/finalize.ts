/**
 * The end of a study, in the transaction of the decision that found nothing left to run: the
 * winner (the best rung result) becomes a normal version (study_id cleared), the other
 * candidates go as `keep` says (best: all of them; all: every trial's last stays a pinnable
 * candidate), the winner gets the `promote` alias (through the aliases' own move, recorded in
 * the model's history with the actor "study <id>"), and study.finished is written.
 *
 * A candidate an alias or the traffic split points at (someone pinned it during the study) is
 * kept rather than deleted by force. With no result at all (every trial failed), or a winner
 * whose version is gone (the model was deleted), the study fails and nothing is deleted.
 */
import type { Prisma } from "../../generated/prisma/client.ts";
import { isAppError } from "../../platform/errors.ts";
import { deleteVersion } from "../../versions/aliases/delete-version.ts";
import { lockModel } from "../../versions/aliases/model-lock.ts";
import { point } from "../../versions/aliases/moves.ts";
import type { EventInput } from "./events.ts";
import type { Best } from "./segment-outcomes.ts";
import type { RungRecord } from "./stored.ts";
import type { StudyContext, TrialState } from "./study-rows.ts";

type Tx = Prisma.TransactionClient;

export interface Finalized {
  status: "succeeded" | "failed";
  error: string | null;
  /** The model whose routing changed (winner cleared, alias moved, candidates deleted). */
  routingChanged: string | null;
}

export async function finalizeStudy(
  tx: Tx,
  ctx: StudyContext,
  trials: TrialState[],
  best: Best | null,
  events: EventInput[],
): Promise<Finalized> {
  const { row } = ctx;
  const winner = best ? winningResult(trials, best) : undefined;
  const exists =
    winner?.versionId &&
    (await tx.modelVersion.findUnique({ where: { id: winner.versionId }, select: { id: true } }));
  let result: Finalized;
  if (!best || !winner?.versionId || !exists) {
    const firstError = trials.find((t) => t.error !== null)?.error;
    const error = !best
      ? `every trial failed${firstError ? `; the first: ${firstError}` : ""}`
      : `the winner's version (trial ${best.trial}, v${best.version}) no longer exists: the model or the version was deleted`;
    result = { status: "failed", error, routingChanged: null };
  } else {
    await keepAndPromote(tx, ctx, trials, winner as RungRecord & { versionId: string });
    result = { status: "succeeded", error: null, routingChanged: row.model };
  }
  events.push({
    type: "study.finished",
    status: result.status,
    trial: best?.trial ?? null,
    version: result.status === "succeeded" ? (best?.version ?? null) : null,
    metric: best?.metric ?? null,
    epochs: best?.epochs ?? null,
  });
  return result;
}

function winningResult(trials: TrialState[], best: Best): RungRecord | undefined {
  const trial = trials.find((t) => t.trial === best.trial);
  return trial?.results.find((r) => r.version === best.version && r.epochs === best.epochs);
}

async function keepAndPromote(
  tx: Tx,
  ctx: StudyContext,
  trials: TrialState[],
  winner: RungRecord & { versionId: string },
): Promise<void> {
  const { row, stored } = ctx;
  const actor = `study ${row.id}`;
  const kept = new Set<string>([winner.versionId]);
  if (stored.request.keep === "all") {
    for (const t of trials) {
      const last = t.results.at(-1)?.versionId;
      if (last) kept.add(last);
    }
  }
  const candidates = await tx.modelVersion.findMany({
    where: { studyId: row.id },
    select: { id: true, version: true },
    orderBy: { version: "asc" },
  });
  const reason = `study ${row.id} ended (keep ${stored.request.keep})`;
  for (const c of candidates) {
    if (kept.has(c.id)) continue;
    try {
      await deleteVersion(tx, row.model, c.version, { force: false, reason, actor });
    } catch (error) {
      // Pinned by an alias or the split: someone chose it; it stays a candidate.
      if (!isAppError(error) || error.code !== "CONFLICT") throw error;
      kept.add(c.id);
    }
  }
  for (const t of trials) {
    for (const r of t.results) {
      if (r.versionId !== null && !kept.has(r.versionId)) {
        r.versionId = null;
        r.version = null;
        t.dirty = true;
      }
    }
  }
  await tx.modelVersion.update({ where: { id: winner.versionId }, data: { studyId: null } });
  const alias = stored.request.promote?.alias;
  if (alias && winner.version !== null) {
    await point(tx, await lockModel(tx, row.model), alias, winner.version, {
      actor,
      reason: `the winner of study ${stored.request.name ?? row.id}`,
    });
  }
}
