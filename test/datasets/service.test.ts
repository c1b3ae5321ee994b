/**
 * The dataset store on a real database: a wide table goes in as chunked raw INSERTs (more rows
 * of dataset_columns than one statement may carry) and reads back column for column.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatasetService } from "../../src/datasets/service.ts";
import { buildTable } from "../../src/datasets/table.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.close();
});

describe("DatasetService.create", () => {
  it("stores 25,000 columns (two INSERT chunks) and loads them back in order", async () => {
    const width = 25_000;
    const header = Array.from({ length: width }, (_, i) => `c${i}`);
    const rows = [header.map((_, i) => String(i)), header.map((_, i) => (i % 2 ? "x" : "y"))];
    const service = createDatasetService({ db });
    const dataset = await service.create("wide", buildTable({ header, rows, source: "csv" }));
    expect(dataset.columns).toHaveLength(width);
    const { rows: count } = await db.pool.query(
      "SELECT count(*)::int AS n FROM dataset_columns WHERE dataset_id = $1",
      [dataset.id],
    );
    expect(count[0].n).toBe(width);
    const loaded = await service.load(dataset.id);
    const last = loaded.columns[width - 1]!;
    expect(last).toMatchObject({ name: `c${width - 1}`, type: "categorical" });
    if (last.type !== "categorical") throw new Error("categorical expected");
    expect(last.categories).toEqual([String(width - 1), "x"]);
    expect(Array.from(last.codes)).toEqual([0, 1]);
  }, 120_000);
});
