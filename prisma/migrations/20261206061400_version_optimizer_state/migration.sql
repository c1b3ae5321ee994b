-- AlterTable
ALTER TABLE "model_versions" ADD COLUMN     "optimizer_state" BYTEA;
