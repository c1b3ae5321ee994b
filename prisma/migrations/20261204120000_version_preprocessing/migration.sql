-- AlterTable
ALTER TABLE "model_versions" ADD COLUMN     "evaluation" JSONB,
ADD COLUMN     "preprocessing" JSONB;
