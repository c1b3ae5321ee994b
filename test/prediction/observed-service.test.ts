/**
 * The observed prediction service samples requests for drift and the prediction log; what it
 * does for a sample must never cost the request its answer.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAppError } from "../../src/platform/errors.ts";
import type { PredictionService } from "../../src/prediction/contract.ts";
import { DriftRecorder } from "../../src/prediction/drift/recorder.ts";
import { observePredictions } from "../../src/prediction/observed-service.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.close();
});

describe("the observed prediction service", () => {
  it("answers a sampled request whose version is gone from the database, and says why it was not counted", async () => {
    // What a replica's own cache still answers for a model another replica has just deleted.
    const inner: PredictionService = {
      predict: async () => ({ model: "gone", version: 1, outputs: [[0.25]] }),
      predictRows: async () => {
        throw new Error("not used here");
      },
    };
    const errors: unknown[] = [];
    const recorder = new DriftRecorder({
      pool: db.pool,
      logger: pino({ level: "silent" }),
      flushMs: 60_000,
      retentionMs: 60_000,
      maxRowsPerFlush: 100,
    });
    const observed = observePredictions(inner, {
      pool: db.pool,
      drift: { recorder, sampleRate: 1 },
      random: () => 0,
      onError: (error) => errors.push(error),
    });

    const answer = await observed.predict({ model: "gone", inputs: [[1, 2]] });

    expect(answer).toMatchObject({ model: "gone", version: 1, outputs: [[0.25]] });
    expect(answer.predictionIds).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(isAppError(errors[0]) && errors[0].code).toBe("NOT_FOUND");
  });
});
