/**
 * Dataset uploads over HTTP on a real server and database: CSV (the Iris fixture, quoted fields,
 * CRLF, a byte order mark), a CSV file in a form, JSON records; inferred and declared column
 * types; statistics; every kind of bad upload with the row and column it names; the limits.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Dataset, DatasetPage } from "../../../src/datasets/schemas.ts";
import type { Problem } from "../../../src/platform/validation/problem.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;
const irisPath = new URL("../../fixtures/iris.csv", import.meta.url);

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    runJobs: false,
    env: { DATASET_MAX_BYTES: "8192", DATASET_MAX_ROWS: "200", DATASET_MAX_COLUMNS: "40" },
  });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

async function upload<T = Dataset>(
  body: string | Uint8Array | FormData,
  { type = "text/csv", query = "name=test" }: { type?: string | null; query?: string } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (type) headers["content-type"] = type;
  const response = await fetch(`${server.url}/datasets?${query}`, {
    method: "POST",
    headers,
    body,
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function problem(
  body: string | Uint8Array,
  options?: { type?: string; query?: string },
): Promise<Problem> {
  const response = await upload<Problem>(body, options);
  expect(response.status, JSON.stringify(response.body)).toBeGreaterThanOrEqual(400);
  return response.body;
}

describe("POST /datasets", () => {
  it("stores the Iris CSV with inferred types and per-column statistics", async () => {
    const { status, body } = await upload(await readFile(irisPath), { query: "name=iris" });
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ name: "iris", rows: 150 });
    expect(body.columns.map((c) => [c.name, c.type])).toEqual([
      ["sepal_length", "numeric"],
      ["sepal_width", "numeric"],
      ["petal_length", "numeric"],
      ["petal_width", "numeric"],
      ["species", "categorical"],
    ]);
    const sepal = body.columns[0]!;
    // Known figures of the Iris data: sepal length 4.3..7.9, mean 5.8433.
    expect(sepal).toMatchObject({ count: 150, missing: 0, min: 4.3, max: 7.9 });
    if (sepal.type !== "numeric") throw new Error("numeric expected");
    expect(sepal.mean).toBeCloseTo(5.843333, 5);
    expect(sepal.std).toBeCloseTo(0.825301, 5); // population standard deviation
    expect(body.columns[4]).toEqual({
      name: "species",
      type: "categorical",
      count: 150,
      missing: 0,
      categories: [
        { value: "setosa", count: 50 },
        { value: "versicolor", count: 50 },
        { value: "virginica", count: 50 },
      ],
    });
    // Float64 per numeric cell, Int32 per categorical cell.
    expect(body.bytes).toBe(150 * 8 * 4 + 150 * 4);

    const got = await server.http.get<Dataset>(`/datasets/${body.id}`);
    expect(got.body).toEqual(body);
    const page = await server.http.get<DatasetPage>("/datasets?limit=100");
    expect(page.body.items.find((d) => d.id === body.id)).toMatchObject({
      name: "iris",
      rows: 150,
      columnCount: 5,
    });
  });

  it("reads quoted fields with commas, quotes and newlines, CRLF line ends and a BOM", async () => {
    const csv =
      '\ufeffcity,note,price\r\n"Paris, FR","said ""hi""\r\nthen left",1.5\r\nRome,,2\r\n';
    const { status, body } = await upload(csv);
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body.rows).toBe(2);
    expect(body.columns.map((c) => c.name)).toEqual(["city", "note", "price"]);
    expect(body.columns[0]).toMatchObject({
      type: "categorical",
      categories: [
        { value: "Paris, FR", count: 1 },
        { value: "Rome", count: 1 },
      ],
    });
    expect(body.columns[1]).toMatchObject({
      type: "categorical",
      missing: 1,
      categories: [{ value: 'said "hi"\r\nthen left', count: 1 }],
    });
    expect(body.columns[2]).toMatchObject({ type: "numeric", min: 1.5, max: 2, missing: 0 });
  });

  it("takes a CSV file from a multipart form (field file)", async () => {
    const form = new FormData();
    form.append("file", new Blob(["a,b\n1,x\n2,y\n"], { type: "text/csv" }), "small.csv");
    const { status, body } = await upload(form, { type: null, query: "name=form" });
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ name: "form", rows: 2 });
    expect(body.columns.map((c) => c.type)).toEqual(["numeric", "categorical"]);
  });

  it("reads NA and ? as missing by default; missing= (query or form field) replaces the list", async () => {
    const csv = "age,city\n31,Oslo\nNA,Bergen\n?,Oslo\n-999,Bergen\n";
    const byDefault = await upload(csv, { type: "text/csv", query: "name=markers" });
    expect(byDefault.status, JSON.stringify(byDefault.body)).toBe(201);
    expect(byDefault.body.columns[0]).toMatchObject({ type: "numeric", count: 2, missing: 2 });

    const byQuery = await upload(csv, {
      type: "text/csv",
      query: "name=markers&missing=NA,?,-999",
    });
    expect(byQuery.body.columns[0]).toMatchObject({ type: "numeric", count: 1, missing: 3 });

    const form = new FormData();
    form.append("missing", "NA,?,-999");
    form.append("file", new Blob([csv], { type: "text/csv" }), "m.csv");
    const byForm = await upload(form, { type: null, query: "name=form-markers" });
    expect(byForm.status, JSON.stringify(byForm.body)).toBe(201);
    expect(byForm.body.columns[0]).toMatchObject({ type: "numeric", count: 1, missing: 3 });
  });

  it("answers 400 for a form with two file parts, storing neither", async () => {
    const before = await server.http.get<DatasetPage>("/datasets?limit=100");
    const form = new FormData();
    form.append("file", new Blob(["a\n1\n"], { type: "text/csv" }), "one.csv");
    form.append("file", new Blob(["b\n2\n"], { type: "text/csv" }), "two.csv");
    const { status, body } = await upload<Problem>(form, { type: null, query: "name=two" });
    expect(status, JSON.stringify(body)).toBe(400);
    expect(body.detail).toMatch(/one part only/);
    const after = await server.http.get<DatasetPage>("/datasets?limit=100");
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  it("answers 400 for a malformed or truncated multipart body", async () => {
    const boundary = "----nnserve-test";
    const type = `multipart/form-data; boundary=${boundary}`;
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n`;
    // The closing boundary never comes.
    const truncated = await upload<Problem>(`${head}a\n1\n`, { type, query: "name=cut" });
    expect(truncated.status, JSON.stringify(truncated.body)).toBe(400);
    // No boundary parameter at all.
    const noBoundary = await upload<Problem>(`${head}a\n1\n--${boundary}--\r\n`, {
      type: "multipart/form-data",
      query: "name=nob",
    });
    expect(noBoundary.status, JSON.stringify(noBoundary.body)).toBe(400);
    // Not multipart inside.
    const garbage = await upload<Problem>("just some text", { type, query: "name=garbage" });
    expect(garbage.status, JSON.stringify(garbage.body)).toBe(400);
  });

  it("takes JSON records, an absent key or null being a missing value", async () => {
    const records = [
      { x: 1, colour: "red" },
      { x: null, colour: "blue" },
      { colour: "red", x: 3 },
      { x: 4 },
    ];
    const { status, body } = await upload(JSON.stringify(records), { type: "application/json" });
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body.columns).toEqual([
      {
        name: "x",
        type: "numeric",
        count: 3,
        missing: 1,
        min: 1,
        max: 4,
        mean: 8 / 3,
        std: expect.any(Number),
      },
      {
        name: "colour",
        type: "categorical",
        count: 3,
        missing: 1,
        categories: [
          { value: "red", count: 2 },
          { value: "blue", count: 1 },
        ],
      },
    ]);
  });

  it("lets ?types override the inferred type", async () => {
    const { status, body } = await upload("zip,n\n94110,1\n10001,2\n", {
      query: "name=zips&types=zip:categorical",
    });
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body.columns[0]).toMatchObject({ name: "zip", type: "categorical" });
    expect(body.columns[1]).toMatchObject({ name: "n", type: "numeric" });
  });

  it("names the row and column of a non-number in a column declared numeric", async () => {
    const p = await problem("a,b\n1,2\n3,oops\n", { query: "name=t&types=b:numeric" });
    expect(p.status).toBe(400);
    expect(p.errors).toEqual([
      { path: "rows[1].b", message: 'is "oops", not a number (column "b" is declared numeric)' },
    ]);
  });

  it("names the row and line of a ragged row", async () => {
    const p = await problem("a,b\n1,2\n3,4,5\n");
    expect(p.status).toBe(400);
    expect(p.errors).toEqual([
      { path: "rows[1]", message: "has 3 fields but the header has 2 (line 3)" },
    ]);
  });

  it("refuses an empty file, a header without rows, and empty or duplicate column names", async () => {
    expect((await problem("")).errors?.[0]?.path).toBe("file");
    const headerOnly = await problem("a,b\n");
    expect(headerOnly.errors).toEqual([{ path: "rows", message: "has no data rows" }]);
    const names = await problem("a,,a\n1,2,3\n");
    expect(names.errors).toEqual([
      { path: "header[1]", message: "is empty; every column needs a name" },
      {
        path: "header[2]",
        message: '"a" is also the name of column 0; column names must be unique',
      },
    ]);
    const unknownType = await problem("a\n1\n", { query: "name=t&types=b:numeric" });
    expect(unknownType.errors?.[0]?.path).toBe("types.b");
  });

  it("reports an unclosed quote as invalid CSV", async () => {
    const p = await problem('a,b\n1,"open\n');
    expect(p.status).toBe(400);
    expect(p.detail).toMatch(/could not be read/);
  });

  it("answers 413 past the byte limit and past the row limit, and stores nothing", async () => {
    const before = await server.http.get<DatasetPage>("/datasets?limit=100");
    const big = `a\n${"1\n".repeat(5000)}`; // 10 kB > 8192 bytes
    const tooBig = await upload<Problem>(big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.detail).toMatch(/8192 bytes/);
    const form = new FormData();
    form.append("file", new Blob([big]), "big.csv");
    expect((await upload<Problem>(form, { type: null })).status).toBe(413);
    const manyRows = await upload<Problem>(`a\n${"1\n".repeat(201)}`);
    expect(manyRows.status).toBe(413);
    expect(manyRows.body.detail).toMatch(/more than 200 rows/);
    const after = await server.http.get<DatasetPage>("/datasets?limit=100");
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  it("answers 413 past the column limit (CSV header, JSON keys), and stores nothing", async () => {
    const before = await server.http.get<DatasetPage>("/datasets?limit=100");
    const names = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);
    const wide = `${names(41).join(",")}\n${names(41)
      .map(() => "1")
      .join(",")}\n`;
    const csv = await upload<Problem>(wide);
    expect(csv.status, JSON.stringify(csv.body)).toBe(413);
    expect(csv.body.detail).toMatch(/41 columns.*limit of 40 \(DATASET_MAX_COLUMNS\)/);
    const records = [
      Object.fromEntries(names(20).map((n) => [n, 1])),
      Object.fromEntries(names(41).map((n) => [n, 1])),
    ];
    const json = await upload<Problem>(JSON.stringify(records), { type: "application/json" });
    expect(json.status, JSON.stringify(json.body)).toBe(413);
    expect(json.body.detail).toMatch(/DATASET_MAX_COLUMNS/);
    const after = await server.http.get<DatasetPage>("/datasets?limit=100");
    expect(after.body.items.length).toBe(before.body.items.length);
    const atLimit = await upload(
      `${names(40).join(",")}\n${names(40)
        .map(() => "2")
        .join(",")}\n`,
    );
    expect(atLimit.status).toBe(201);
    expect(atLimit.body.columns).toHaveLength(40);
  });

  it("answers 400 for a NUL character in a cell, a header, a JSON record or the name", async () => {
    const before = await server.http.get<DatasetPage>("/datasets?limit=100");
    const cell = await upload<Problem>("a,b\n1,x\u0000y\n");
    expect(cell.status, JSON.stringify(cell.body)).toBe(400);
    expect(cell.body.errors).toEqual([
      { path: "rows[0].b", message: expect.stringMatching(/NUL/) },
    ]);
    const header = await upload<Problem>("a,b\u0000\n1,2\n");
    expect(header.status).toBe(400);
    expect(header.body.errors?.[0]?.path).toBe("header[1]");
    const json = await upload<Problem>(JSON.stringify([{ a: 1, b: "x\u0000" }]), {
      type: "application/json",
    });
    expect(json.status).toBe(400);
    expect(json.body.errors?.[0]?.path).toBe("records[0].b");
    const name = await upload<Problem>("a\n1\n", { query: "name=bad%00name" });
    expect(name.status).toBe(400);
    expect(name.body.errors?.[0]?.path).toBe("name");
    const after = await server.http.get<DatasetPage>("/datasets?limit=100");
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  it("refuses a body of another content type with 415", async () => {
    const response = await upload<Problem>("a\n1\n", { type: "text/plain" });
    expect(response.status).toBe(415);
  });
});

describe("DELETE /datasets/{id}", () => {
  it("deletes the dataset and its values; a second delete is 404", async () => {
    const { body } = await upload("a\n1\n2\n");
    const deleted = await fetch(`${server.url}/datasets/${body.id}`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    const { rows } = await db.pool.query(
      "SELECT count(*)::int AS n FROM dataset_columns WHERE dataset_id = $1",
      [body.id],
    );
    expect(rows[0].n).toBe(0);
    expect((await server.http.get(`/datasets/${body.id}`)).status).toBe(404);
    const again = await fetch(`${server.url}/datasets/${body.id}`, { method: "DELETE" });
    expect(again.status).toBe(404);
  });
});
