import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/platform/config.ts";

const url = "postgres://nnserve@db:5432/nnserve";

describe("AUTH and the production settings", () => {
  it("requires API keys by default in production only", () => {
    expect(loadConfig({ NODE_ENV: "production", DATABASE_URL: url }).auth).toBe(true);
    expect(loadConfig({ NODE_ENV: "development" }).auth).toBe(false);
    expect(loadConfig({ NODE_ENV: "test" }).auth).toBe(false);
  });

  it("can be switched either way explicitly", () => {
    expect(loadConfig({ NODE_ENV: "production", DATABASE_URL: url, AUTH: "off" }).auth).toBe(false);
    expect(loadConfig({ NODE_ENV: "development", AUTH: "on" }).auth).toBe(true);
    expect(() => loadConfig({ AUTH: "maybe" })).toThrow(/AUTH: must be on or off/);
  });

  it("needs DATABASE_URL in production (the embedded Postgres is for development)", () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: "production" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: "DATABASE_URL", message: "is required when NODE_ENV=production" },
    ]);
  });

  it("reads limits, timeouts and overload thresholds, 0 meaning off", () => {
    const config = loadConfig({
      RATE_LIMIT_PER_MINUTE: "0",
      MAX_QUEUED_JOBS_PER_KEY: "3",
      HTTP_REQUEST_TIMEOUT_MS: "5000",
      OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: "0.5",
      OVERLOAD_MAX_HEAP_USED_BYTES: "0",
    });
    expect(config.rateLimitPerMinute).toBe(0);
    expect(config.maxQueuedJobsPerKey).toBe(3);
    expect(config.http.requestTimeoutMs).toBe(5000);
    expect(config.overload).toMatchObject({ maxEventLoopUtilization: 0.5, maxHeapUsedBytes: 0 });
    expect(loadConfig({}).overload.maxHeapUsedBytes).toBeGreaterThan(0);
    expect(() => loadConfig({ OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: "2" })).toThrow(
      /between 0 and 1/,
    );
  });
});
