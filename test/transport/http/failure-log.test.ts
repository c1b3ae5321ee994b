/**
 * How a failed request is logged (problem.ts logFailure): a client that hung up is an info line,
 * not an error anyone can fill the error log with; the same 503 over and over (a database
 * outage) is one warning per 10 s, with the count of those held back.
 */
import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { internalError, unavailable } from "../../../src/platform/errors.ts";
import { LogThrottle } from "../../../src/platform/log-throttle.ts";
import { logFailure } from "../../../src/transport/http/problem.ts";

function request(raw: { aborted?: boolean; destroyed?: boolean; complete?: boolean }) {
  const lines: { level: string; msg: string }[] = [];
  const log = Object.fromEntries(
    ["info", "warn", "error"].map((level) => [
      level,
      (first: unknown, second?: unknown) =>
        lines.push({ level, msg: String(typeof first === "string" ? first : second) }),
    ]),
  );
  return { lines, request: { raw, log } as unknown as FastifyRequest };
}

describe("logFailure", () => {
  it("logs an aborted request at info and a real failure at error", () => {
    const aborted = request({ aborted: true, destroyed: true, complete: false });
    logFailure(aborted.request, new Error("aborted"), internalError(undefined, new Error("x")));
    expect(aborted.lines).toEqual([{ level: "info", msg: "client aborted the request" }]);
    const failed = request({ aborted: false, destroyed: false, complete: true });
    logFailure(failed.request, new Error("bug"), internalError(undefined, new Error("bug")));
    expect(failed.lines).toEqual([{ level: "error", msg: "request failed" }]);
  });

  it("says a repeated 503 once", () => {
    const { lines, request: req } = request({ complete: true });
    const error = unavailable(`The same outage ${Math.random()}`);
    for (let i = 0; i < 50; i++) logFailure(req, error, error);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe("warn");
  });
});

describe("LogThrottle", () => {
  it("admits a key once per interval and counts what it held back", () => {
    let now = 0;
    const throttle = new LogThrottle(1_000, () => now);
    expect(throttle.admit("a")).toEqual({ repeated: 0 });
    expect(throttle.admit("a")).toBeUndefined();
    expect(throttle.admit("a")).toBeUndefined();
    expect(throttle.admit("b")).toEqual({ repeated: 0 });
    now = 1_000;
    expect(throttle.admit("a")).toEqual({ repeated: 2 });
  });
});
