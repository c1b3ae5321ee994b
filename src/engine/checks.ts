/** Small argument checks shared by the validators; each throws an EngineError naming `field`. */
import { EngineError } from "./errors.ts";

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function requireRecord(value: unknown, field: string): Record<string, unknown> {
  if (!isRecord(value)) throw new EngineError(field, `must be an object, got ${describe(value)}`);
  return value;
}

export function requireInteger(
  value: unknown,
  field: string,
  min: number,
  max = 2 ** 31 - 1,
): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new EngineError(field, `must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new EngineError(field, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** A finite number, optionally bounded; `open` excludes the bounds. */
export function requireNumber(
  value: unknown,
  field: string,
  range: { min?: number; max?: number; minOpen?: boolean; maxOpen?: boolean } = {},
): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new EngineError(field, `must be a finite number, got ${describe(value)}`);
  }
  const { min, max, minOpen, maxOpen } = range;
  if (min !== undefined && (minOpen ? value <= min : value < min)) {
    throw new EngineError(field, `must be ${minOpen ? ">" : ">="} ${min}, got ${value}`);
  }
  if (max !== undefined && (maxOpen ? value >= max : value > max)) {
    throw new EngineError(field, `must be ${maxOpen ? "<" : "<="} ${max}, got ${value}`);
  }
  return value;
}

export function requireOneOf<T extends string>(
  value: unknown,
  field: string,
  names: readonly T[],
): T {
  if (typeof value !== "string" || !(names as readonly string[]).includes(value)) {
    throw new EngineError(field, `must be one of ${names.join(", ")}; got ${describe(value)}`);
  }
  return value as T;
}

export function requireBoolean(value: unknown, field: string): boolean {
  if (typeof value !== "boolean")
    throw new EngineError(field, `must be a boolean, got ${describe(value)}`);
  return value;
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "number") return String(value);
  return typeof value;
}
