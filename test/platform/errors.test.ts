import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  AppError,
  conflict,
  formatPath,
  fromZodError,
  GRPC_STATUS,
  internalError,
  notFound,
  pointerToPath,
  problemType,
  unavailable,
  validationError,
  zodIssues,
} from "../../src/platform/errors.ts";

describe("AppError", () => {
  it("carries the HTTP and gRPC status of its code", () => {
    const cases: [AppError, string, number, number][] = [
      [validationError([]), "VALIDATION_FAILED", 400, GRPC_STATUS.INVALID_ARGUMENT],
      [notFound("job", "42"), "NOT_FOUND", 404, GRPC_STATUS.NOT_FOUND],
      [conflict("already finished"), "CONFLICT", 409, GRPC_STATUS.FAILED_PRECONDITION],
      [unavailable("database down"), "UNAVAILABLE", 503, GRPC_STATUS.UNAVAILABLE],
      [internalError(), "INTERNAL", 500, GRPC_STATUS.INTERNAL],
    ];
    for (const [error, code, status, grpc] of cases) {
      expect(error).toBeInstanceOf(AppError);
      expect([error.code, error.statusCode, error.grpcCode]).toEqual([code, status, grpc]);
    }
    expect(GRPC_STATUS).toMatchObject({ ALREADY_EXISTS: 6, RESOURCE_EXHAUSTED: 8 });
  });

  it("names what was not found", () => {
    expect(notFound("model", "xor").message).toBe('No model "xor" exists.');
  });

  it("hides only INTERNAL messages", () => {
    expect(internalError("SELECT failed").exposeMessage).toBe(false);
    expect(unavailable("The database is not reachable").exposeMessage).toBe(true);
  });

  it("derives the problem type URI from the code", () => {
    expect(problemType("VALIDATION_FAILED")).toBe("https://nnserve.dev/problems/validation-failed");
  });
});

describe("field paths", () => {
  it("writes object keys dotted and indexes in brackets", () => {
    expect(formatPath(["network", "layers", 1, "units"])).toBe("network.layers[1].units");
    expect(formatPath(["data", "inputs", 3, 2])).toBe("data.inputs[3][2]");
    expect(formatPath([])).toBe("");
    expect(formatPath(["headers", "idempotency-key"])).toBe("headers.idempotency-key");
    expect(formatPath(["a b"])).toBe('["a b"]');
  });

  it("converts JSON pointers from other validators", () => {
    expect(pointerToPath("/network/layers/0/units")).toBe("network.layers[0].units");
    expect(pointerToPath("")).toBe("");
  });

  it("turns a ZodError into field issues", () => {
    const schema = z.strictObject({
      data: z.object({ inputs: z.array(z.array(z.number())) }),
      epochs: z.int(),
    });
    const result = schema.safeParse({ data: { inputs: [[1], [2, Infinity]] }, typo: 1 });
    expect(result.success).toBe(false);
    const error = fromZodError(result.error!);
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.errors).toEqual([
      { path: "data.inputs[1][1]", message: expect.stringContaining("finite number") },
      { path: "epochs", message: expect.any(String) },
      { path: "typo", message: 'Unrecognized key: "typo"' },
    ]);
  });

  it("caps the number of issues", () => {
    const result = z.array(z.number()).safeParse(Array.from({ length: 60 }, () => "x"));
    const issues = zodIssues(result.error!.issues, 5);
    expect(issues).toHaveLength(6);
    expect(issues.at(-1)).toEqual({ path: "", message: "55 more issues not shown" });
  });
});
