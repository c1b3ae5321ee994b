/**
 * The dashboard's in-browser CSV preview (src/ui/csv-preview.js): plain functions over a File,
 * run here in Node, which has File too.
 */
import { describe, expect, it } from "vitest";

/** The module's JSDoc types, restated: this project's tsconfig does not read .js files. */
interface CsvPreviewModule {
  parseCsv(text: string): string[][];
  previewFile(file: File): Promise<{
    header: string[];
    rows: string[][];
    histograms: Map<string, number[]>;
    complete: boolean;
  }>;
}
const MODULE: string = "../../src/ui/csv-preview.js";
const { parseCsv, previewFile } = (await import(MODULE)) as CsvPreviewModule;

describe("parseCsv", () => {
  it("reads quoted fields with commas, doubled quotes and line breaks, CRLF or LF, and skips blank lines", () => {
    const text = 'name,note\r\n"Smith, J","said ""hi"""\n\n"two\nlines",x\nlast,';
    expect(parseCsv(text)).toEqual([
      ["name", "note"],
      ["Smith, J", 'said "hi"'],
      ["two\nlines", "x"],
      ["last", ""],
    ]);
  });
});

describe("previewFile", () => {
  it("gives the header, the first rows, and 12-bin histograms of the numeric columns only", async () => {
    const lines = ["x,label"];
    for (let i = 0; i < 24; i++) lines.push(`${i},${i % 2 ? "odd" : "even"}`);
    const preview = await previewFile(new File([lines.join("\n")], "t.csv"));
    expect(preview.header).toEqual(["x", "label"]);
    expect(preview.rows).toHaveLength(8);
    expect(preview.rows[0]).toEqual(["0", "even"]);
    expect(preview.complete).toBe(true);
    // 0..23 in 12 equal bins: two values each.
    expect(preview.histograms.get("x")).toEqual(new Array(12).fill(2));
    expect(preview.histograms.has("label")).toBe(false);
  });

  it("puts a constant column in one bin and leaves out blank cells", async () => {
    const preview = await previewFile(new File(["a\n5\n\n5\n5\n"], "c.csv"));
    const bins = preview.histograms.get("a");
    expect(bins?.reduce((s, n) => s + n, 0)).toBe(3);
    expect(bins?.[0]).toBe(3);
  });
});
