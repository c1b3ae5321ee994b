-- AlterTable
ALTER TABLE "training_jobs" ADD COLUMN     "worker" TEXT;

-- The worker of a job's latest attempt was only kept while lease_owner was not cleared.
UPDATE "training_jobs" SET "worker" = "lease_owner" WHERE "lease_owner" IS NOT NULL;
