-- AlterEnum
ALTER TYPE "data_split" ADD VALUE 'test';

-- CreateTable
CREATE TABLE "datasets" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "rows" INTEGER NOT NULL,
    "columns" JSONB NOT NULL,
    "bytes" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "datasets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dataset_columns" (
    "dataset_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "values" BYTEA NOT NULL,

    CONSTRAINT "dataset_columns_pkey" PRIMARY KEY ("dataset_id","position")
);

-- CreateIndex
CREATE INDEX "datasets_created_at_id_idx" ON "datasets"("created_at", "id");

-- AddForeignKey
ALTER TABLE "dataset_columns" ADD CONSTRAINT "dataset_columns_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE CASCADE ON UPDATE CASCADE;
