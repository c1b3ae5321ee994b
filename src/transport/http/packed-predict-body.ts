/**
 * The body of POST /predict read from its bytes straight into packed FP32 rows, for the shape
 * nearly every client sends: `{"model": "...", "version": 3, "inputs": [[0.1, 2, ...], ...]}`.
 * JSON.parse would first build a JS array of numbers per row, which the schema then walks and the
 * prediction service copies into a Float32Array: for a 784-wide row that is most of what a
 * request costs beyond HTTP itself.
 *
 * Anything out of the ordinary makes `readPackedPredictBody` return undefined and the body takes
 * the general path (JSON.parse and the schema), which also says what is wrong: escapes, keys
 * other than those three or a key twice, an empty or ragged `inputs`, more rows than allowed, a
 * model name the schema would refuse, a version that is not a plain whole number >= 1, numbers
 * with more than 19 significant digits or a decimal exponent beyond ±22. What it accepts, the
 * general path accepts too, with bit-identical values: a JSON number becomes the float32 that
 * `new Float32Array([JSON.parse(text)])` holds (see readNumber).
 */
import { packedRowsPass } from "../../prediction/request.ts";

/** Rows of one request, row-major. */
export class PackedRows {
  readonly values: Float32Array;
  readonly rows: number;
  readonly width: number;
  constructor(values: Float32Array, rows: number, width: number) {
    this.values = values;
    this.rows = rows;
    this.width = width;
  }
}

/** A /predict body read by readPackedPredictBody: already as valid as the schema would make it. */
export class PackedPredictBody {
  readonly model: string;
  readonly version: number | undefined;
  readonly inputs: PackedRows;
  /**
   * The body it was read from, kept (not copied) for a version with preprocessing, whose raw
   * values are encoded from the JSON numbers rather than from their float32 roundings.
   */
  readonly bytes: Uint8Array | undefined;
  constructor(model: string, version: number | undefined, inputs: PackedRows, bytes?: Uint8Array) {
    this.model = model;
    this.version = version;
    this.inputs = inputs;
    this.bytes = bytes;
  }
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);
// Relative error bound of the 16-19 digit conversion below (at most four roundings of the
// digits and one of the scaling, about 2^-50.7), with room to spare.
const SLACK = 2 ** -49;

/** Thrown inside the reader only: "take the general path". */
const BAIL = Symbol("bail");

class Cursor {
  i = 0;
  readonly b: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.b = bytes;
  }

  /** The next byte that is not white space (-1 at the end), with the cursor on it. */
  skipSpace(): number {
    const b = this.b;
    let i = this.i;
    if (i >= b.length) return -1;
    let c = b[i]!;
    if (c > SPACE) return c;
    while (c === SPACE || c === LF || c === CR || c === TAB) {
      if (++i >= b.length) {
        this.i = i;
        return -1;
      }
      c = b[i]!;
    }
    this.i = i;
    return c;
  }

  expect(byte: number): void {
    if (this.skipSpace() !== byte) throw BAIL;
    this.i++;
  }

  /** A string without escapes or control characters, as its bytes' range. */
  stringRange(): [number, number] {
    this.expect(QUOTE);
    const b = this.b;
    const start = this.i;
    let i = start;
    for (;;) {
      const c = b[i];
      if (c === undefined || c === BACKSLASH || c < SPACE) throw BAIL;
      if (c === QUOTE) break;
      i++;
    }
    this.i = i + 1;
    return [start, i];
  }
}

const KEYS = ["model", "version", "inputs"] as const;

function keyAt(b: Uint8Array, [start, end]: [number, number]): (typeof KEYS)[number] {
  for (const key of KEYS) {
    if (end - start !== key.length) continue;
    let same = true;
    for (let k = 0; k < key.length && same; k++) same = b[start + k] === key.charCodeAt(k);
    if (same) return key;
  }
  throw BAIL;
}

/**
 * The rows of `inputs`, numbers read in place. A JSON number becomes the double JSON.parse gives,
 * or one that rounds to the same float32:
 *   - its digits make an integer m and its fraction and exponent a power of ten; while m is below
 *     2^53 every step was exact, and with the power within ±22 (exact too) one multiplication or
 *     division rounds once, correctly: the very double JSON.parse makes (Clinger's fast path);
 *   - with 16 to 19 significant digits m has been rounded a few times (relative error below
 *     2^-50 in all); the result is kept when every double that close rounds to the same float32,
 *     and otherwise the number goes to Number() (exactNumber);
 *   - more digits, or a larger exponent, and the whole body goes to the general path.
 */
function readRows(c: Cursor, maxRows: number): PackedRows {
  const b = c.b;
  // A number takes at least two bytes with its separator: this never has to grow for small
  // bodies, and grows by doubling for large ones.
  let values: Float32Array = new Float32Array(
    Math.max(16, Math.min(Math.ceil(b.length / 2), 1 << 16)),
  );
  let count = 0;
  let rows = 0;
  let width = -1;
  c.expect(OPEN_BRACKET);
  for (;;) {
    c.expect(OPEN_BRACKET);
    if (++rows > maxRows) throw BAIL; // no need to read the rest: the schema will refuse it
    const rowStart = count;
    let i = c.i;
    for (;;) {
      // Past the end of the bytes b[i] is undefined, and every comparison below is false.
      let ch = b[i]!;
      while (ch === SPACE || ch === LF || ch === CR || ch === TAB) ch = b[++i]!;
      const start = i;
      const negative = ch === MINUS;
      if (negative) ch = b[++i]!;
      let m = 0;
      let exponent = 0;
      if (ch === ZERO) {
        ch = b[++i]!;
        if (ch >= ZERO && ch <= NINE) throw BAIL; // a leading zero is not JSON
      } else if (ch > ZERO && ch <= NINE) {
        do {
          m = m * 10 + (ch - ZERO);
          ch = b[++i]!;
        } while (ch >= ZERO && ch <= NINE);
      } else throw BAIL;
      if (ch === DOT) {
        ch = b[++i]!;
        const fraction = i;
        while (ch >= ZERO && ch <= NINE) {
          m = m * 10 + (ch - ZERO);
          ch = b[++i]!;
        }
        if (i === fraction) throw BAIL;
        exponent = fraction - i;
      }
      if (ch === LOWER_E || ch === UPPER_E) {
        const end = readExponent(b, i + 1);
        exponent += EXPONENT.value;
        i = end;
        ch = b[i]!;
      }
      let value: number;
      if (m === 0) value = 0;
      else if (exponent > 22 || exponent < -22 || m >= 1e19) throw BAIL;
      else {
        const scale = POWERS_OF_TEN[exponent < 0 ? -exponent : exponent]!;
        value = exponent < 0 ? m / scale : m * scale;
        if (m >= 2 ** 53 && Math.fround(value * (1 - SLACK)) !== Math.fround(value * (1 + SLACK))) {
          // Within a hair of the middle between two float32 values: ask the exact parser.
          value = exactNumber(b, negative ? start + 1 : start, i);
        }
      }
      // Past float32's range: the schema names the cell (FLOAT32_MESSAGE).
      if (Math.fround(value) === Number.POSITIVE_INFINITY) throw BAIL;
      if (count === values.length) values = grow(values);
      values[count++] = negative ? -value : value;
      while (ch === SPACE || ch === LF || ch === CR || ch === TAB) ch = b[++i]!;
      i++;
      if (ch === COMMA) continue;
      if (ch === CLOSE_BRACKET) break;
      throw BAIL;
    }
    c.i = i;
    const rowWidth = count - rowStart;
    if (width === -1) width = rowWidth;
    else if (rowWidth !== width) throw BAIL;
    const next = c.skipSpace();
    c.i++;
    if (next === COMMA) continue;
    if (next === CLOSE_BRACKET) break;
    throw BAIL;
  }
  return new PackedRows(values.subarray(0, count), rows, width);
}

/** Where readExponent leaves the exponent it read (no allocation per number). */
const EXPONENT = { value: 0 };

/** The digits of an exponent from b[i] (after the "e"), sign included; returns the end. */
function readExponent(b: Uint8Array, i: number): number {
  let ch = b[i]!;
  let negative = false;
  if (ch === MINUS || ch === PLUS) {
    negative = ch === MINUS;
    ch = b[++i]!;
  }
  if (!(ch >= ZERO && ch <= NINE)) throw BAIL;
  let e = 0;
  do {
    e = e * 10 + (ch - ZERO);
    if (e > 400) throw BAIL;
    ch = b[++i]!;
  } while (ch >= ZERO && ch <= NINE);
  EXPONENT.value = negative ? -e : e;
  return i;
}

function grow(values: Float32Array): Float32Array {
  const grown = new Float32Array(values.length * 2);
  grown.set(values);
  return grown;
}

/** The rare number readRows cannot settle, by the exact parser. */
function exactNumber(b: Uint8Array, start: number, end: number): number {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(b[i]!);
  return Number(text);
}

function readVersion(c: Cursor): number {
  const b = c.b;
  let i = c.i;
  let ch = b[i] ?? -1;
  if (!(ch > ZERO && ch <= NINE)) throw BAIL;
  let version = 0;
  let digits = 0;
  while (ch >= ZERO && ch <= NINE) {
    version = version * 10 + (ch - ZERO);
    if (++digits > 9) throw BAIL;
    ch = b[++i] ?? -1;
  }
  // 1.0 or 1e0 are versions to the schema too; they take its path.
  if (ch === DOT || ch === LOWER_E || ch === UPPER_E) throw BAIL;
  c.i = i;
  return version;
}

/** The body as packed rows, or undefined when it needs the general path (see above). */
export function readPackedPredictBody(
  bytes: Uint8Array,
  maxRows: number,
): PackedPredictBody | undefined {
  const c = new Cursor(bytes);
  try {
    let model: string | undefined;
    let version: number | undefined;
    let inputs: PackedRows | undefined;
    c.expect(OPEN_BRACE);
    for (;;) {
      const key = keyAt(bytes, c.stringRange());
      c.expect(COLON);
      c.skipSpace();
      if (key === "model") {
        if (model !== undefined) throw BAIL;
        const [start, end] = c.stringRange();
        if (end - start > 64) throw BAIL; // longer than any valid name
        model = String.fromCharCode(...bytes.subarray(start, end));
      } else if (key === "version") {
        if (version !== undefined) throw BAIL;
        version = readVersion(c);
      } else {
        if (inputs !== undefined) throw BAIL;
        inputs = readRows(c, maxRows);
      }
      const next = c.skipSpace();
      c.i++;
      if (next === COMMA) continue;
      if (next === CLOSE_BRACE) break;
      throw BAIL;
    }
    if (c.skipSpace() !== -1 || model === undefined || inputs === undefined) return undefined;
    if (!packedRowsPass(model, inputs.rows, inputs.width, maxRows)) return undefined;
    return new PackedPredictBody(model, version, inputs, bytes);
  } catch (error) {
    if (error === BAIL) return undefined;
    throw error;
  }
}
