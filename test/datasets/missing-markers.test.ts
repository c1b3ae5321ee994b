/**
 * Missing-value markers in CSV uploads: NA, N/A, null, NaN, ? and the empty cell are missing
 * by default, so a column of numbers with them is numeric with missing values; an upload's own
 * list (`missing=`) replaces the default.
 */
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readCsv } from "../../src/datasets/csv.ts";
import { datasetUploadQuerySchema } from "../../src/datasets/schemas.ts";
import { buildTable } from "../../src/datasets/table.ts";

const LIMITS = { maxBytes: 1 << 20, maxRows: 1000, maxColumns: 100 };
const CSV = "age,city\n31,Oslo\nNA,Bergen\n?,N/A\n40,null\nNaN,\n-999,Oslo\n";

async function columns(missing?: string[]) {
  const table = await readCsv(Readable.from([CSV]), LIMITS, missing);
  return buildTable(table).views;
}

describe("missing-value markers", () => {
  it("by default, reads the markers as missing: age stays numeric", async () => {
    const [age, city] = await columns();
    expect(age).toMatchObject({ name: "age", type: "numeric", count: 3, missing: 3 });
    expect(city).toMatchObject({ name: "city", type: "categorical", missing: 3 });
  });

  it("an upload's own list replaces the default", async () => {
    const query = datasetUploadQuerySchema.parse({ name: "d", missing: "NA,?,NaN,-999" });
    expect(query.missing).toEqual(["NA", "?", "NaN", "-999"]);
    const [age, city] = await columns(query.missing);
    expect(age).toMatchObject({ type: "numeric", count: 2, missing: 4 });
    // N/A and null are values now.
    expect(city).toMatchObject({ type: "categorical", missing: 1 });
  });

  it("an empty list leaves only the empty cell missing, so NA makes age categorical", async () => {
    const [age] = await columns(datasetUploadQuerySchema.parse({ name: "d", missing: "" }).missing);
    expect(age).toMatchObject({ type: "categorical" });
  });
});
