-- AlterTable
ALTER TABLE "training_jobs" ADD COLUMN     "time_budget_seconds" INTEGER;
