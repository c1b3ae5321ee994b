-- CreateTable
CREATE TABLE "feature_drift_bins" (
    "version_id" UUID NOT NULL,
    "minute" TIMESTAMPTZ(3) NOT NULL,
    "feature" INTEGER NOT NULL,
    "bin" INTEGER NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "feature_drift_bins_pkey" PRIMARY KEY ("version_id","minute","feature","bin")
);

-- CreateTable
CREATE TABLE "prediction_records" (
    "id" UUID NOT NULL,
    "version_id" UUID NOT NULL,
    "predicted" JSONB NOT NULL,
    "actual" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "feedback_at" TIMESTAMPTZ(3),

    CONSTRAINT "prediction_records_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "feature_drift_bins_minute_idx" ON "feature_drift_bins"("minute");

-- CreateIndex
CREATE INDEX "prediction_records_version_id_created_at_idx" ON "prediction_records"("version_id", "created_at");

-- CreateIndex
CREATE INDEX "prediction_records_created_at_idx" ON "prediction_records"("created_at");

-- AddForeignKey
ALTER TABLE "feature_drift_bins" ADD CONSTRAINT "feature_drift_bins_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "prediction_records" ADD CONSTRAINT "prediction_records_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
