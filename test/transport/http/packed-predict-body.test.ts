/**
 * The /predict body reader against the general path it stands in for: whatever it accepts must
 * read exactly as JSON.parse followed by the schema and a Float32Array would (bit for bit), and
 * whatever it is not sure of it must leave to that path.
 */
import { describe, expect, it } from "vitest";
import { readPackedPredictBody } from "../../../src/transport/http/packed-predict-body.ts";

const bytes = (text: string) => Buffer.from(text, "utf8");

/** What the general path makes of the same text: the model, version and rows as float32. */
function general(text: string) {
  const body = JSON.parse(text) as { model: string; version?: number; inputs: number[][] };
  return {
    model: body.model,
    version: body.version,
    rows: body.inputs.length,
    width: body.inputs[0]!.length,
    values: Float32Array.from(body.inputs.flat()),
  };
}

function expectSameAsGeneral(text: string) {
  const packed = readPackedPredictBody(bytes(text), 1000);
  expect(packed, text).toBeDefined();
  const expected = general(text);
  expect(packed!.model).toBe(expected.model);
  expect(packed!.version).toBe(expected.version);
  expect([packed!.inputs.rows, packed!.inputs.width]).toEqual([expected.rows, expected.width]);
  // Bit patterns, so -0 and 0 differ and nothing is "close enough".
  const got = new Uint32Array(Float32Array.from(packed!.inputs.values).buffer);
  const want = new Uint32Array(expected.values.buffer);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      throw new Error(
        `${text}: element ${i} is ${packed!.inputs.values[i]}, want ${expected.values[i]}`,
      );
    }
  }
  expect(got.length).toBe(want.length);
}

/** A small seeded generator, so a failure names a case that can be run again. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * JSON numbers of every form the grammar allows, within what the reader takes (up to 19
 * significant digits, a decimal exponent within ±22 once the fraction digits are counted).
 */
function numberText(next: () => number): string {
  const digits = (n: number, nonZeroFirst = false) => {
    let s = "";
    for (let i = 0; i < n; i++) {
      s +=
        nonZeroFirst && i === 0
          ? String(1 + Math.floor(next() * 9))
          : String(Math.floor(next() * 10));
    }
    return s;
  };
  const sign = next() < 0.3 ? "-" : "";
  const kind = next();
  if (kind < 0.15) return sign + (next() < 0.2 ? "0" : digits(1 + Math.floor(next() * 9), true));
  // JavaScript's own shortest form of a double (up to 17 digits), and of a float32 widened.
  if (kind < 0.3) return sign + String((0.1 + 0.9 * next()) * 10 ** Math.floor(next() * 7 - 3));
  if (kind < 0.4) return sign + String(Math.fround((0.01 + next()) * 100));
  const integer = next() < 0.5 ? "0" : digits(1 + Math.floor(next() * 4), true);
  const fractionDigits = 1 + Math.floor(next() * 14);
  const fraction = digits(fractionDigits);
  if (next() < 0.7) return `${sign}${integer}.${fraction}`;
  const negative = next() < 0.5;
  const e = Math.floor(next() * (negative ? 22 - fractionDigits + 1 : 15));
  const mark = next() < 0.5 ? "e" : "E";
  return `${sign}${integer}.${fraction}${mark}${negative ? "-" : next() < 0.5 ? "+" : ""}${e}`;
}

describe("readPackedPredictBody", () => {
  it("reads what JSON.parse reads, bit for bit, for numbers of every form", () => {
    const next = random(7);
    for (let body = 0; body < 300; body++) {
      const rows = 1 + Math.floor(next() * 4);
      const width = 1 + Math.floor(next() * 12);
      const inputs = Array.from({ length: rows }, () =>
        Array.from({ length: width }, () => numberText(next)),
      );
      const text = `{"model":"m-${body}","inputs":[${inputs.map((r) => `[${r.join(",")}]`).join(",")}]}`;
      expectSameAsGeneral(text);
    }
  });

  it("agrees next to the middle between two float32 values, where the double's last bits decide", () => {
    const next = random(11);
    for (let i = 0; i < 3000; i++) {
      // From about 0.001 up: 19 digits of the middle then stay within the exponents it reads.
      const a = Math.fround((1 + next()) * 2 ** Math.floor(next() * 30 - 10));
      const b = a + 2 ** (Math.floor(Math.log2(a)) - 23); // the float32 above a
      const middle = (a + b) / 2;
      // The middle itself and decimals a few units of the 17th digit either side of it.
      const near = [middle, middle * (1 + 2 ** -52), middle * (1 - 2 ** -52)];
      const text = `{"model":"m","inputs":[[${near.map((x) => x.toPrecision(17)).join(",")},${near
        .map((x) => x.toPrecision(19))
        .join(",")}]]}`;
      expectSameAsGeneral(text);
    }
  });

  it("takes whitespace, any key order, a version, several rows and -0", () => {
    expectSameAsGeneral('{"model":"xor","inputs":[[0,1],[1,0]]}');
    expectSameAsGeneral(
      ' \n{ "inputs" : [ [ -0 , 1.5e2 ] ,\t[ 2E-3 , 0.0 ] ] , "version" : 12 , "model" : "a.b_c-d" }\r\n',
    );
    expectSameAsGeneral('{"version":1,"model":"x","inputs":[[123456789012345678]]}');
    expectSameAsGeneral('{"model":"x","inputs":[[1e22,-1e-22,3.4028235e15,1.4e-15]]}');
  });

  it("leaves everything else to the general path", () => {
    const cases = [
      "",
      "[]",
      "{}",
      '{"model":"xor"}',
      '{"inputs":[[1]]}',
      '{"model":"xor","inputs":[]}', // no rows
      '{"model":"xor","inputs":[[]]}', // an empty row
      '{"model":"xor","inputs":[[1,2],[3]]}', // ragged
      '{"model":"xor","inputs":[1,2]}', // not rows
      '{"model":"xor","inputs":[[[1]]]}',
      '{"model":"xor","inputs":[["1"]]}',
      '{"model":"xor","inputs":[[null]]}',
      '{"model":"xor","inputs":[[true]]}',
      '{"model":"xor","inputs":[[01]]}', // not JSON
      '{"model":"xor","inputs":[[1.]]}',
      '{"model":"xor","inputs":[[.5]]}',
      '{"model":"xor","inputs":[[+1]]}',
      '{"model":"xor","inputs":[[1e400]]}', // Infinity to JSON.parse: the schema refuses it
      '{"model":"xor","inputs":[[1e23]]}', // exponent beyond the exact powers
      '{"model":"xor","inputs":[[1.00000000000000000001]]}', // more than 19 digits
      '{"model":"xor","inputs":[[1 2]]}',
      '{"model":"xor","inputs":[[1]],}',
      '{"model":"xor","inputs":[[1]]} x',
      '{"model":"xor","inputs":[[1]],"model":"xor"}', // a key twice
      '{"model":"xor","inputs":[[1]],"extra":1}',
      '{"model":"XOR","inputs":[[1]]}', // the schema names the bad name
      '{"model":"x\\u006fr","inputs":[[1]]}', // an escape
      '{"\\u006dodel":"xor","inputs":[[1]]}',
      '{"model":"xór","inputs":[[1]]}',
      '{"model":"xor","version":0,"inputs":[[1]]}',
      '{"model":"xor","version":1.0,"inputs":[[1]]}',
      '{"model":"xor","version":-1,"inputs":[[1]]}',
      '{"model":"xor","version":"1","inputs":[[1]]}',
      '{"model":"xor","version":null,"inputs":[[1]]}',
      '\ufeff{"model":"xor","inputs":[[1]]}', // a byte-order mark
      '{"model":"xor","inputs":[[1]]', // cut short
    ];
    for (const text of cases)
      expect(readPackedPredictBody(bytes(text), 1000), text).toBeUndefined();
  });

  it("leaves bodies with more rows than allowed to the schema, which names the limit", () => {
    const text = `{"model":"xor","inputs":[${Array.from({ length: 5 }, () => "[1,2]").join(",")}]}`;
    expect(readPackedPredictBody(bytes(text), 4)).toBeUndefined();
    expect(readPackedPredictBody(bytes(text), 5)?.inputs.rows).toBe(5);
  });

  it("grows its buffer for long rows", () => {
    const row = Array.from({ length: 70_000 }, (_, i) => (i % 7) / 8);
    const text = JSON.stringify({ model: "wide", inputs: [row] });
    const packed = readPackedPredictBody(bytes(text), 10);
    expect(packed?.inputs.width).toBe(70_000);
    expect(Array.from(packed!.inputs.values.subarray(0, 8))).toEqual(row.slice(0, 8));
  });
});
