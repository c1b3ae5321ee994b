/** Shared test fixtures for the engine specs. */
import { expect } from "vitest";
import { EngineError } from "../../src/engine/index.ts";

/** Asserts that `fn` throws an EngineError naming `field` with a message matching `message`. */
export function expectEngineError(fn: () => unknown, field: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected an EngineError for ${field}`).toBeInstanceOf(EngineError);
  const err = caught as EngineError;
  expect(err.field).toBe(field);
  expect(err.message).toMatch(message);
}

export async function expectEngineErrorAsync(
  fn: () => Promise<unknown>,
  field: string,
  message: RegExp,
): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected an EngineError for ${field}`).toBeInstanceOf(EngineError);
  const err = caught as EngineError;
  expect(err.field).toBe(field);
  expect(err.message).toMatch(message);
}

export { XOR_DATASET as XOR } from "../helpers/xor.ts";

/** A small deterministic regression set: y = 2·x0 − x1 + 0.5. */
export function linearData(rows: number): {
  inputs: Float32Array;
  rows: number;
  targets: Float32Array;
} {
  const inputs = new Float32Array(rows * 2);
  const targets = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const a = ((i * 37) % 101) / 50 - 1;
    const b = ((i * 59) % 103) / 51 - 1;
    inputs[2 * i] = a;
    inputs[2 * i + 1] = b;
    targets[i] = 2 * a - b + 0.5;
  }
  return { inputs, rows, targets };
}
