-- CreateEnum
CREATE TYPE "version_status" AS ENUM ('pending', 'training', 'ready', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "job_status" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "data_split" AS ENUM ('train', 'validation');

-- CreateTable
CREATE TABLE "models" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "models_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "model_versions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "model_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "architecture" JSONB NOT NULL,
    "training" JSONB NOT NULL,
    "weights" BYTEA,
    "metrics" JSONB,
    "status" "version_status" NOT NULL DEFAULT 'pending',
    "trained_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "model_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "training_jobs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "version_id" UUID NOT NULL,
    "status" "job_status" NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "max_attempts" INTEGER NOT NULL DEFAULT 3,
    "lease_owner" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "epoch" INTEGER NOT NULL DEFAULT 0,
    "epochs" INTEGER NOT NULL,
    "metrics" JSONB,
    "error" TEXT,
    "idempotency_key" TEXT,
    "request_hash" TEXT,
    "run_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "training_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "epoch_metrics" (
    "job_id" UUID NOT NULL,
    "epoch" INTEGER NOT NULL,
    "loss" DOUBLE PRECISION NOT NULL,
    "val_loss" DOUBLE PRECISION,
    "accuracy" DOUBLE PRECISION,
    "val_accuracy" DOUBLE PRECISION,
    "mae" DOUBLE PRECISION,
    "val_mae" DOUBLE PRECISION,
    "learning_rate" DOUBLE PRECISION,
    "duration_ms" DOUBLE PRECISION NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "epoch_metrics_pkey" PRIMARY KEY ("job_id","epoch")
);

-- CreateTable
CREATE TABLE "training_data" (
    "job_id" UUID NOT NULL,
    "split" "data_split" NOT NULL DEFAULT 'train',
    "rows" INTEGER NOT NULL,
    "input_width" INTEGER NOT NULL,
    "inputs" BYTEA NOT NULL,
    "target_width" INTEGER,
    "targets" BYTEA,
    "labels" BYTEA,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "training_data_pkey" PRIMARY KEY ("job_id","split")
);

-- CreateIndex
CREATE UNIQUE INDEX "models_name_key" ON "models"("name");

-- CreateIndex
CREATE INDEX "models_created_at_id_idx" ON "models"("created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "model_versions_model_id_version_key" ON "model_versions"("model_id", "version");

-- CreateIndex
CREATE UNIQUE INDEX "training_jobs_idempotency_key_key" ON "training_jobs"("idempotency_key");

-- CreateIndex
CREATE INDEX "training_jobs_status_run_at_created_at_idx" ON "training_jobs"("status", "run_at", "created_at");

-- CreateIndex
CREATE INDEX "training_jobs_status_lease_expires_at_idx" ON "training_jobs"("status", "lease_expires_at");

-- CreateIndex
CREATE INDEX "training_jobs_created_at_id_idx" ON "training_jobs"("created_at", "id");

-- CreateIndex
CREATE INDEX "training_jobs_status_created_at_id_idx" ON "training_jobs"("status", "created_at", "id");

-- CreateIndex
CREATE INDEX "training_jobs_version_id_idx" ON "training_jobs"("version_id");

-- AddForeignKey
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_jobs" ADD CONSTRAINT "training_jobs_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "epoch_metrics" ADD CONSTRAINT "epoch_metrics_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "training_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_data" ADD CONSTRAINT "training_data_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "training_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
