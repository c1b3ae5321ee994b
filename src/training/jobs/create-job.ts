import type { Prisma, TrainingJob } from "../../generated/prisma/client.ts";
import { insertRows } from "../../platform/db/bulk.ts";
import { notifyJobs } from "./queue-sql.ts";

// Enqueueing is inserting the job row, in the transaction of whoever creates the work (the
// training service creates the model version and its job together):
//
//   const job = await prisma.$transaction(async (tx) => {
//     const version = await tx.modelVersion.create({ data: { ... } });
//     return createJob(tx, { versionId: version.id, epochs, data: [{ rows, inputWidth, ... }] });
//   });
//
// The NOTIFY is sent inside that transaction: Postgres delivers it only once the transaction
// commits, and never if it rolls back, so listeners cannot wake before the row is visible.
// The examples are bulk data (up to the body limit): the transaction takes
// bulkTransactionOptions(trainingDataBytes(data)) rather than Prisma's 5 s default.

/** One split of the job's examples, stored as little-endian bytes (src/platform/db/binary.ts). */
export type TrainingDataInput = Omit<Prisma.TrainingDataCreateManyInput, "jobId" | "createdAt">;

export interface CreateJobInput {
  versionId: string;
  epochs: number;
  maxAttempts?: number;
  /** How long one attempt may run before the job fails; null: no budget. */
  timeBudgetSeconds?: number | null;
  /** Unique: a second job with the same key fails with Prisma's P2002, for the caller to map. */
  idempotencyKey?: string | null;
  /** Digest of the creating request, compared when the idempotency key comes again. */
  requestHash?: string | null;
  /** The API key that submitted the job; it counts against the key's job limit. */
  apiKeyId?: string | null;
  /** Not before this time (default: now). */
  runAt?: Date;
  data: TrainingDataInput[];
}

export async function createJob(
  tx: Prisma.TransactionClient,
  { data, ...job }: CreateJobInput,
): Promise<TrainingJob> {
  const created = await tx.trainingJob.create({ data: job });
  if (data.length > 0) {
    await insertRows(
      tx,
      "training_data",
      [
        { name: "job_id", cast: "uuid" },
        { name: "split", cast: "data_split" },
        { name: "rows", cast: "int4" },
        { name: "input_width", cast: "int4" },
        { name: "inputs", cast: "bytea" },
        { name: "target_width", cast: "int4" },
        { name: "targets", cast: "bytea" },
        { name: "labels", cast: "bytea" },
      ],
      data.map((d) => [
        created.id,
        d.split ?? "train",
        d.rows,
        d.inputWidth,
        d.inputs,
        d.targetWidth ?? null,
        d.targets ?? null,
        d.labels ?? null,
      ]),
    );
  }
  await tx.$executeRawUnsafe(notifyJobs, created.id);
  return created;
}

/** The bytes a job's examples hold, for the transaction's timeout. */
export function trainingDataBytes(data: readonly TrainingDataInput[]): number {
  let bytes = 0;
  for (const d of data)
    bytes += d.inputs.byteLength + (d.targets?.byteLength ?? 0) + (d.labels?.byteLength ?? 0);
  return bytes;
}
