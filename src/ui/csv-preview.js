// The first rows and numeric histograms of a CSV the user just chose, read in the browser. The
// API stores a dataset as typed columns with summary statistics, not as the file, so the rows
// themselves can only be previewed from the file while the page still has it.

/** The most the page reads of a file for its preview (a larger file is previewed in part). */
const MAX_PREVIEW_BYTES = 8 * 1024 * 1024;
export const PREVIEW_ROWS = 8;
const BINS = 12;

/**
 * RFC 4180 records: quoted fields with "" escapes, CRLF or LF line ends.
 * @param {string} text
 * @returns {string[][]}
 */
export function parseCsv(text) {
  /** @type {string[][]} */
  const rows = [];
  /** @type {string[]} */
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      field = "";
      if (row.length > 1 || row[0] !== "") rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * @typedef {{ header: string[], rows: string[][], histograms: Map<string, number[]>, complete: boolean }} Preview
 */

/**
 * @param {File} file
 * @returns {Promise<Preview>}
 */
export async function previewFile(file) {
  const complete = file.size <= MAX_PREVIEW_BYTES;
  let text = await file.slice(0, MAX_PREVIEW_BYTES).text();
  // A cut file ends mid-row: drop the partial last line.
  if (!complete) text = text.slice(0, text.lastIndexOf("\n") + 1);
  const [header = [], ...rows] = parseCsv(text);
  /** @type {Map<string, number[]>} */
  const histograms = new Map();
  header.forEach((name, c) => {
    const values = rows
      .map((r) => r[c]?.trim() ?? "")
      .filter((v) => v !== "")
      .map(Number);
    if (values.length === 0 || values.some((v) => !Number.isFinite(v))) return;
    histograms.set(name, histogram(values));
  });
  return { header, rows: rows.slice(0, PREVIEW_ROWS), histograms, complete };
}

/**
 * Counts in BINS equal-width bins from the minimum to the maximum.
 * @param {number[]} values
 */
function histogram(values) {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const counts = new Array(BINS).fill(0);
  const width = (max - min) / BINS || 1;
  for (const v of values) counts[Math.min(BINS - 1, Math.floor((v - min) / width))]++;
  return counts;
}
