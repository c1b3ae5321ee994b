/** Datasets for the tests that train from one: a CSV upload as a client makes it, and Iris. */
import { readFile } from "node:fs/promises";
import { expect } from "vitest";
import type { Dataset } from "../../src/datasets/schemas.ts";

/** POST /datasets?name=…&… with a CSV body; expects 201 and answers the dataset. */
export async function uploadCsv(
  baseUrl: string,
  name: string,
  csv: string | Uint8Array,
  query = "",
): Promise<Dataset> {
  const response = await fetch(`${baseUrl}/datasets?name=${name}${query}`, {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: csv,
  });
  const body = await response.json();
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body as Dataset;
}

/** test/fixtures/iris.csv (Fisher's Iris, see test/fixtures/README.md), as text. */
export const irisCsv = () => readFile(new URL("../fixtures/iris.csv", import.meta.url), "utf8");
