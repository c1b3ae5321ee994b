/**
 * create() refuses what the data cannot give before storing anything: an unknown dataset, a
 * target that is not a column, valAccuracy or label smoothing on a numeric target, mae on
 * classes, a network the space allows above MAX_PARAMETERS, maxConcurrent above the per-key
 * job limit; and the schema's own refusals (empty choice, low > high, rungs that do not fit).
 * Each is a validationError with the field path, and no study, trial or job is written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatasetService } from "../../../src/datasets/service.ts";
import { type AppError, fromZodError, isAppError } from "../../../src/platform/errors.ts";
import { createJobQueue } from "../../../src/training/jobs/job-queue.ts";
import { createTrainingService } from "../../../src/training/service.ts";
import type { StudyService } from "../../../src/training/studies/contract.ts";
import type { StudyRequestInput } from "../../../src/training/studies/schemas.ts";
import { createStudyService } from "../../../src/training/studies/service.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { irisCsv, uploadCsv } from "../../helpers/datasets.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { irisStudy, studySchema } from "./fixtures.ts";

let db: TestDatabase;
let server: TestServer;
let irisId: string;
let studies: StudyService;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url, runJobs: false });
  irisId = (await uploadCsv(server.url, "iris", await irisCsv())).id;
  const datasets = createDatasetService({ db });
  studies = createStudyService({
    db,
    datasets,
    training: createTrainingService({
      db,
      queue: createJobQueue({ pool: db.pool }),
      datasets,
      maxAttempts: 3,
    }),
    limits: { maxParameters: 2_000, maxInputs: 4_096, maxEncodedValues: 16_000_000 },
    maxQueuedJobsPerKey: 4,
  });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

async function rows(): Promise<number[]> {
  const counts = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM studies UNION ALL SELECT count(*)::int FROM study_trials
     UNION ALL SELECT count(*)::int FROM training_jobs UNION ALL SELECT count(*)::int FROM models`,
  );
  return counts.rows.map((r) => r.n);
}

/** The refusal's field paths, with nothing written. */
async function refused(overrides: Partial<StudyRequestInput>): Promise<AppError> {
  const before = await rows();
  let error: unknown;
  try {
    await studies.create(irisStudy(irisId, overrides));
  } catch (e) {
    error = e;
  }
  expect(isAppError(error), String(error)).toBe(true);
  expect((error as AppError).code).toBe("VALIDATION_FAILED");
  expect(await rows()).toEqual(before);
  return error as AppError;
}
const paths = (error: AppError) => error.errors.map((e) => e.path);

describe("create refuses, storing nothing", () => {
  it("an unknown dataset, on dataset", async () => {
    const error = await refused({ dataset: "00000000-0000-4000-8000-000000000000" });
    expect(paths(error)).toEqual(["dataset"]);
  });

  it("a target that is not a column, on target", async () => {
    const error = await refused({ target: "colour" });
    expect(paths(error)).toEqual(["target"]);
    expect(error.errors[0]!.message).toMatch(/not a column/);
  });

  it("valAccuracy on a numeric target, on objective.metric", async () => {
    const error = await refused({ target: "petal_width", objective: { metric: "valAccuracy" } });
    expect(paths(error)).toEqual(["objective.metric"]);
    expect(error.errors[0]!.message).toMatch(/classification/);
  });

  it("mae on classes, on objective.metric", async () => {
    expect(paths(await refused({ objective: { metric: "valMae" } }))).toEqual(["objective.metric"]);
  });

  it("label smoothing for a regression, on space.labelSmoothing", async () => {
    const error = await refused({
      target: "petal_width",
      space: { layers: { choice: [[8]] }, labelSmoothing: { uniform: [0, 0.2] } },
    });
    expect(paths(error)).toEqual(["space.labelSmoothing"]);
  });

  it("the recipe's layers above MAX_PARAMETERS when the space has none, on space.layers", async () => {
    const error = await refused({ space: { dropout: { uniform: [0, 0.2] } } });
    expect(paths(error)).toEqual(["space.layers"]);
  });

  it("a choice of layers above MAX_PARAMETERS, on that choice", async () => {
    const error = await refused({ space: { layers: { choice: [[8], [64, 32]] } } });
    expect(paths(error)).toEqual(["space.layers.choice[1]"]);
  });

  it("maxConcurrent above the per-key job limit, on budget.maxConcurrent", async () => {
    const error = await refused({
      budget: { trials: 9, maxEpochs: 9, minEpochs: 1, reductionFactor: 3, maxConcurrent: 5 },
    });
    expect(paths(error)).toEqual(["budget.maxConcurrent"]);
  });
});

describe("create refuses a plan too large, storing nothing", () => {
  it("trials × maxEpochs above MAX_STUDY_EPOCHS, on budget", async () => {
    const error = await refused({
      budget: { trials: 500, maxEpochs: 1_000, minEpochs: 1, reductionFactor: 3, maxConcurrent: 2 },
    });
    expect(paths(error)).toEqual(["budget"]);
  });
});

describe("the request schema refuses", () => {
  const issues = (input: Partial<StudyRequestInput>) => {
    const parsed = studySchema.safeParse({
      model: "m",
      dataset: irisId,
      target: "species",
      objective: { metric: "valLoss" },
      space: { dropout: { uniform: [0, 0.2] } },
      budget: { trials: 9, maxEpochs: 9 },
      ...input,
    });
    expect(parsed.success).toBe(false);
    return fromZodError(parsed.error!).errors.map((e) => e.path);
  };

  it("an empty choice, low above high, and rungs that do not fit", () => {
    expect(issues({ space: { layers: { choice: [] } } })).toEqual(["space.layers.choice"]);
    expect(issues({ space: { dropout: { uniform: [0.3, 0.1] } } })).toEqual([
      "space.dropout.uniform",
    ]);
    expect(issues({ budget: { trials: 9, maxEpochs: 3, minEpochs: 9 } })).toEqual([
      "budget.minEpochs",
    ]);
  });
});
