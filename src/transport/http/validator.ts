/**
 * The zod validator for every route. fastify-type-provider-zod's own validatorCompiler flattens
 * issue paths into JSON pointers; this one throws our AppError with `network.layers[0].units`
 * paths directly, the same conversion the gRPC transport uses (schemas/parse.ts).
 */
import type { FastifySchemaCompiler } from "fastify";
import type { z } from "zod";
import { fromZodError } from "../../platform/errors.ts";

const PART_NAMES: Record<string, string> = {
  body: "request body",
  querystring: "query string",
  params: "path parameters",
  headers: "request headers",
};

export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const part = PART_NAMES[httpPart ?? ""] ?? "request";
  const message = `Invalid ${part}; see errors for each field.`;
  return (data) => {
    const result = schema.safeParse(data, { reportInput: true });
    if (result.success) return { value: result.data };
    return { error: fromZodError(result.error, message) };
  };
};
