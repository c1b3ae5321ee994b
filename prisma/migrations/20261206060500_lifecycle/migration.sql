-- CreateEnum
CREATE TYPE "model_event_kind" AS ENUM ('version_created', 'version_deleted', 'alias_set', 'alias_moved', 'alias_removed', 'rollback', 'traffic_set', 'traffic_cleared', 'model_deleted');

-- CreateTable
CREATE TABLE "model_aliases" (
    "model_id" UUID NOT NULL,
    "alias" TEXT NOT NULL,
    "version_id" UUID NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by" TEXT,

    CONSTRAINT "model_aliases_pkey" PRIMARY KEY ("model_id","alias")
);

-- CreateTable
CREATE TABLE "traffic_splits" (
    "model_id" UUID NOT NULL,
    "revision" TEXT NOT NULL,
    "split" JSONB NOT NULL,
    "shadow_version" INTEGER,
    "sticky_by" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by" TEXT,

    CONSTRAINT "traffic_splits_pkey" PRIMARY KEY ("model_id")
);

-- CreateTable
CREATE TABLE "model_events" (
    "id" BIGSERIAL NOT NULL,
    "model" TEXT NOT NULL,
    "model_id" UUID NOT NULL,
    "kind" "model_event_kind" NOT NULL,
    "alias" TEXT,
    "from_version" INTEGER,
    "to_version" INTEGER,
    "job_id" UUID,
    "detail" JSONB,
    "reason" TEXT,
    "actor" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "model_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "model_aliases_version_id_idx" ON "model_aliases"("version_id");

-- CreateIndex
CREATE INDEX "model_events_model_id_idx" ON "model_events"("model", "id");

-- CreateIndex
CREATE INDEX "model_events_model_id_alias_id_idx" ON "model_events"("model_id", "alias", "id");

-- AddForeignKey
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "traffic_splits" ADD CONSTRAINT "traffic_splits_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("id") ON DELETE CASCADE ON UPDATE CASCADE;
