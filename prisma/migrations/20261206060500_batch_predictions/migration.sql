-- CreateTable
CREATE TABLE "batch_predictions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "model_id" UUID NOT NULL,
    "version_id" UUID NOT NULL,
    "dataset_id" UUID,
    "status" "job_status" NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "max_attempts" INTEGER NOT NULL DEFAULT 3,
    "lease_owner" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "total_rows" INTEGER NOT NULL,
    "chunk_rows" INTEGER NOT NULL,
    "next_chunk" INTEGER NOT NULL DEFAULT 0,
    "rows_done" INTEGER NOT NULL DEFAULT 0,
    "request" JSONB NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "batch_predictions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "batch_prediction_chunks" (
    "batch_id" UUID NOT NULL,
    "chunk" INTEGER NOT NULL,
    "rows" INTEGER NOT NULL,
    "results" TEXT NOT NULL,

    CONSTRAINT "batch_prediction_chunks_pkey" PRIMARY KEY ("batch_id","chunk")
);

-- CreateIndex
CREATE INDEX "batch_predictions_status_created_at_idx" ON "batch_predictions"("status", "created_at");

-- CreateIndex
CREATE INDEX "batch_predictions_status_lease_expires_at_idx" ON "batch_predictions"("status", "lease_expires_at");

-- AddForeignKey
ALTER TABLE "batch_predictions" ADD CONSTRAINT "batch_predictions_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "batch_predictions" ADD CONSTRAINT "batch_predictions_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "batch_predictions" ADD CONSTRAINT "batch_predictions_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "batch_prediction_chunks" ADD CONSTRAINT "batch_prediction_chunks_batch_id_fkey" FOREIGN KEY ("batch_id") REFERENCES "batch_predictions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Batch scoring reads a dataset a chunk at a time with substring(); on a column stored out of
-- line without compression that reads only the slice's pages, where a compressed one would be
-- decompressed from its start for every chunk. Applies to datasets uploaded from now on.
ALTER TABLE "dataset_columns" ALTER COLUMN "values" SET STORAGE EXTERNAL;
