/** How every transport applies a request schema: one way to parse, one error shape. */
import type { z } from "zod";
import { fromZodError } from "../errors.ts";

/** Returns the parsed value or throws a VALIDATION_FAILED AppError with field paths. */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  data: unknown,
  message?: string,
): z.output<S> {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  throw fromZodError(result.error, message);
}
