/**
 * Storing an accepted study: the study row (its request with the seed and the data's shape),
 * one row per sampled trial (pending), and a NOTIFY so a conductor starts it at once. One
 * transaction: a study is there whole or not at all.
 */
import type { Prisma } from "../../generated/prisma/client.ts";
import type { Database } from "../../platform/db/client.ts";
import { toStoredJson } from "../../platform/db/stored-json.ts";
import type { Submitter } from "../contract.ts";
import { notifyStudy } from "./events.ts";
import { sampleTrials } from "./sampler.ts";
import type { StudyRequest } from "./schemas.ts";
import type { StoredDataShape } from "./stored.ts";

export async function insertStudy(
  db: Database,
  req: StudyRequest,
  seed: number,
  shape: StoredDataShape,
  submitter: Submitter | undefined,
): Promise<string> {
  const params = sampleTrials(req.space, seed, req.budget.trials);
  return db.prisma.$transaction(async (tx: Prisma.TransactionClient) => {
    const study = await tx.study.create({
      data: {
        name: req.name ?? null,
        model: req.model,
        datasetId: req.dataset,
        target: req.target,
        request: toStoredJson({ request: req, seed, shape }),
        apiKeyId: submitter?.keyId ?? null,
        submitterPrefix: submitter?.prefix ?? null,
      },
      select: { id: true },
    });
    await tx.studyTrial.createMany({
      data: params.map((p, i) => ({
        studyId: study.id,
        trial: i + 1,
        params: toStoredJson(p),
        results: toStoredJson({ rungs: [] }),
        curve: toStoredJson({ points: [] }),
      })),
    });
    await notifyStudy(tx, study.id);
    return study.id;
  });
}
