/**
 * Stored JSON columns read through their zod schemas: a row written before the format version
 * (inserted here with raw SQL, as an older nnserve wrote it) still reads, new rows carry
 * `formatVersion: 1`, and a damaged value is a clear INTERNAL error naming the column and the
 * field, not a crash downstream.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDatasetService } from "../../src/datasets/service.ts";
import { createNetwork, saveNetwork } from "../../src/engine/index.ts";
import { readStored, storedColumn } from "../../src/platform/db/stored-json.ts";
import { isAppError } from "../../src/platform/errors.ts";
import { loadModel } from "../../src/prediction/model-cache.ts";
import { createModelFileService } from "../../src/versions/model-files.ts";
import { createModelRegistry } from "../../src/versions/registry.ts";
import { storedMetricsColumn } from "../../src/versions/stored-columns.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());
beforeEach(async () => {
  await db.pool.query("TRUNCATE models, datasets CASCADE");
});

const saved = saveNetwork(
  createNetwork(
    {
      inputs: 2,
      layers: [
        { units: 3, activation: "tanh" },
        { units: 1, activation: "sigmoid" },
      ],
    },
    { seed: 4 },
  ),
);

/** The training column as nnserve wrote it before issue 25: no formatVersion. */
const OLD_TRAINING = {
  loss: "binaryCrossentropy",
  optimizer: { name: "adam", learningRate: 0.01 },
  epochs: 5,
  batchSize: 4,
  shuffle: true,
  seed: 7,
  validationSplit: 0,
  labels: false,
};

/** A ready version inserted with raw SQL, its JSON columns given as text. */
async function insertVersion(
  name: string,
  columns: { architecture?: string; training?: string; metrics?: string; evaluation?: string },
): Promise<string> {
  const {
    rows: [model],
  } = await db.pool.query<{ id: string }>("INSERT INTO models (name) VALUES ($1) RETURNING id", [
    name,
  ]);
  const {
    rows: [version],
  } = await db.pool.query<{ id: string }>(
    `INSERT INTO model_versions (model_id, version, architecture, training, weights, metrics,
       evaluation, status, trained_at)
     VALUES ($1, 1, $2::jsonb, $3::jsonb, $4, $5::jsonb, $6::jsonb, 'ready', now())
     RETURNING id`,
    [
      model!.id,
      columns.architecture ?? JSON.stringify(saved.architecture),
      columns.training ?? JSON.stringify(OLD_TRAINING),
      Buffer.from(saved.weights),
      columns.metrics ?? JSON.stringify({ loss: 0.25, accuracy: 0.75 }),
      columns.evaluation ?? null,
    ],
  );
  return version!.id;
}

async function internalErrorOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(error)) throw new Error(`expected an AppError, got ${String(error)}`);
  expect(error.code).toBe("INTERNAL");
  return error.message;
}

describe("a row written before the format version", () => {
  it("reads as version 1 through the registry, the model cache and the export", async () => {
    const id = await insertVersion("old", {});
    const model = await createModelRegistry({ db }).get("old");
    expect(model.versions[0]).toMatchObject({
      version: 1,
      loss: "binaryCrossentropy",
      seed: 7,
      parameters: 13,
      metrics: { loss: 0.25, accuracy: 0.75 },
    });
    const loaded = await loadModel(db, id);
    expect(loaded).toMatchObject({ model: "old", classes: "binary" });
    const files = createModelFileService({ db, maxParameters: 1_000, nnserveVersion: "test" });
    const { file } = await files.exportFile("old", 1);
    expect(file.training).toEqual(OLD_TRAINING);
    expect(file.metrics).toEqual({ loss: 0.25, accuracy: 0.75 });
  });

  it("reads a dataset whose columns are the bare array", async () => {
    const columns = [
      { name: "x", type: "numeric", count: 2, missing: 0, min: 0, max: 1, mean: 0.5, std: 0.5 },
    ];
    const {
      rows: [row],
    } = await db.pool.query<{ id: string }>(
      "INSERT INTO datasets (name, rows, columns, bytes) VALUES ('old', 2, $1::jsonb, 16) RETURNING id",
      [JSON.stringify(columns)],
    );
    const dataset = await createDatasetService({ db }).get(row!.id);
    expect(dataset.columns).toEqual(columns);
  });
});

describe("new rows", () => {
  it("carry formatVersion 1, which the read does not show", async () => {
    const files = createModelFileService({ db, maxParameters: 1_000, nnserveVersion: "test" });
    await insertVersion("source", {});
    const { file } = await files.exportFile("source", 1);
    await files.importFile("copy", file);
    const {
      rows: [row],
    } = await db.pool.query<{
      training: Record<string, unknown>;
      metrics: Record<string, unknown>;
    }>(
      `SELECT v.training, v.metrics FROM model_versions v JOIN models m ON m.id = v.model_id
       WHERE m.name = 'copy'`,
    );
    expect(row!.training.formatVersion).toBe(1);
    expect(row!.metrics.formatVersion).toBe(1);
    const copy = await createModelRegistry({ db }).get("copy");
    expect(copy.versions[0]!.metrics).toEqual({ loss: 0.25, accuracy: 0.75 });
    expect((await files.exportFile("copy", 1)).file.training).toEqual(OLD_TRAINING);
  });
});

describe("a damaged stored value", () => {
  it("is an INTERNAL error naming the column, the version and the field", async () => {
    await insertVersion("bad-loss", {
      training: JSON.stringify({ ...OLD_TRAINING, loss: "hinge" }),
    });
    const message = await internalErrorOf(createModelRegistry({ db }).get("bad-loss"));
    expect(message).toMatch(/^The stored training of model version 1 cannot be read \(loss /);
    expect(message).toContain("written by another program or damaged");
  });

  it("names a missing architecture field when the model cache loads it", async () => {
    const id = await insertVersion("bad-arch", {
      architecture: JSON.stringify({ ...saved.architecture, inputs: undefined }),
    });
    const message = await internalErrorOf(loadModel(db, id));
    expect(message).toMatch(/^The stored architecture of bad-arch@1 cannot be read \(inputs /);
  });

  it("refuses a format version this server does not read", async () => {
    await insertVersion("newer", {
      training: JSON.stringify({ ...OLD_TRAINING, formatVersion: 2 }),
    });
    const message = await internalErrorOf(createModelRegistry({ db }).get("newer"));
    expect(message).toContain(
      "(formatVersion is 2; this server reads format version 1); the row was written",
    );
  });

  it("in a dataset's columns too", async () => {
    const {
      rows: [row],
    } = await db.pool.query<{ id: string }>(
      `INSERT INTO datasets (name, rows, columns, bytes) VALUES ('bad', 2, '"oops"'::jsonb, 16)
       RETURNING id`,
    );
    const message = await internalErrorOf(createDatasetService({ db }).get(row!.id));
    expect(message).toMatch(/^The stored columns of dataset .+ cannot be read/);
  });
});

describe("storedColumn", () => {
  it("takes an absent or matching format version and drops it from the value", () => {
    expect(readStored(storedMetricsColumn, { loss: 1 }, "metrics")).toEqual({ loss: 1 });
    expect(readStored(storedMetricsColumn, { formatVersion: 1, loss: 1 }, "metrics")).toEqual({
      loss: 1,
    });
    expect(() => readStored(storedColumn(storedMetricsColumn), [], "metrics")).toThrow(
      /The stored metrics cannot be read/,
    );
  });
});
