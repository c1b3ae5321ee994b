-- CreateEnum
CREATE TYPE "study_status" AS ENUM ('running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "trial_status" AS ENUM ('pending', 'running', 'paused', 'promoted', 'pruned', 'completed', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "studies" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT,
    "model" TEXT NOT NULL,
    "dataset_id" UUID,
    "target" TEXT NOT NULL,
    "request" JSONB NOT NULL,
    "status" "study_status" NOT NULL DEFAULT 'running',
    "best_trial" INTEGER,
    "best_metric" DOUBLE PRECISION,
    "best_version" INTEGER,
    "best_epochs" INTEGER,
    "error" TEXT,
    "api_key_id" UUID,
    "submitter_prefix" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "studies_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "study_trials" (
    "study_id" UUID NOT NULL,
    "trial" INTEGER NOT NULL,
    "params" JSONB NOT NULL,
    "status" "trial_status" NOT NULL DEFAULT 'pending',
    "results" JSONB NOT NULL,
    "epochs" INTEGER NOT NULL DEFAULT 0,
    "epochs_spent" INTEGER NOT NULL DEFAULT 0,
    "segment" INTEGER,
    "job_id" UUID,
    "curve" JSONB NOT NULL,
    "error" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "study_trials_pkey" PRIMARY KEY ("study_id","trial")
);

-- CreateTable
CREATE TABLE "study_events" (
    "id" BIGSERIAL NOT NULL,
    "study_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "trial" INTEGER,
    "rung" INTEGER,
    "epochs" INTEGER,
    "metric" DOUBLE PRECISION,
    "version" INTEGER,
    "status" "study_status",
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "study_events_pkey" PRIMARY KEY ("id")
);

-- AlterTable
ALTER TABLE "model_versions" ADD COLUMN     "study_id" UUID;

-- CreateIndex
CREATE INDEX "studies_created_at_id_idx" ON "studies"("created_at", "id");

-- CreateIndex
CREATE INDEX "studies_status_idx" ON "studies"("status");

-- CreateIndex
CREATE INDEX "study_events_study_id_id_idx" ON "study_events"("study_id", "id");

-- CreateIndex
CREATE INDEX "model_versions_study_id_idx" ON "model_versions"("study_id");

-- AddForeignKey
ALTER TABLE "studies" ADD CONSTRAINT "studies_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "studies" ADD CONSTRAINT "studies_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "study_trials" ADD CONSTRAINT "study_trials_study_id_fkey" FOREIGN KEY ("study_id") REFERENCES "studies"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "study_events" ADD CONSTRAINT "study_events_study_id_fkey" FOREIGN KEY ("study_id") REFERENCES "studies"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_study_id_fkey" FOREIGN KEY ("study_id") REFERENCES "studies"("id") ON DELETE SET NULL ON UPDATE CASCADE;
