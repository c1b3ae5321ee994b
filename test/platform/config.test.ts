import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { ConfigError, defaultWorkers, loadConfig } from "../../src/platform/config.ts";

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("has working defaults for an empty environment", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: "development",
      logLevel: "info",
      host: "0.0.0.0",
      port: 3000,
      databaseUrl: undefined,
      workers: defaultWorkers(),
      jobs: { maxAttempts: 3, leaseMs: 30_000, heartbeatMs: 2_000, pollMs: 2_000 },
      limits: { bodyLimitBytes: 64 * 1024 * 1024, predictInlineMaxRows: 256 },
    });
    expect(config.workers).toBeGreaterThanOrEqual(1);
    expect(config.limits.maxParameters).toBeGreaterThan(0);
  });

  it("parses numbers and treats an empty variable as unset", () => {
    const config = loadConfig({ PORT: "8080", WORKERS: "", MAX_EPOCHS: " 50 " });
    expect(config.port).toBe(8080);
    expect(config.workers).toBe(defaultWorkers());
    expect(config.limits.maxEpochs).toBe(50);
  });

  it("keeps DATABASE_URL when it is a postgres URL", () => {
    const url = "postgresql://nn:secret@db:5432/nnserve";
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it("names the variable of a bad value", () => {
    const error = configError({ PORT: "eighty" });
    expect(error.issues).toEqual([
      { path: "PORT", message: "must be a whole number between 0 and 65535" },
    ]);
    expect(error.message).toContain("PORT: must be a whole number");
  });

  it("lists every bad variable at once", () => {
    const error = configError({
      WORKERS: "0",
      LOG_LEVEL: "loud",
      DATABASE_URL: "mysql://db",
      MAX_ROWS: "1.5",
    });
    expect(error.issues.map((issue) => issue.path).sort()).toEqual([
      "DATABASE_URL",
      "LOG_LEVEL",
      "MAX_ROWS",
      "WORKERS",
    ]);
  });

  it("rejects a heartbeat that is not shorter than the lease", () => {
    const error = configError({ JOB_LEASE_MS: "5000", JOB_HEARTBEAT_MS: "5000" });
    expect(error.issues).toEqual([
      { path: "JOB_HEARTBEAT_MS", message: "must be less than JOB_LEASE_MS (5000)" },
    ]);
  });

  it("never echoes a value, so a bad DATABASE_URL cannot leak its password", () => {
    const error = configError({ DATABASE_URL: "mysql://user:hunter2@db" });
    expect(error.message).not.toContain("hunter2");
  });

  it("serves from one process unless SERVE_PROCESSES asks for more, or auto for one per core", () => {
    expect(loadConfig({}).serveProcesses).toBe(1);
    expect(loadConfig({ SERVE_PROCESSES: "" }).serveProcesses).toBe(1);
    expect(loadConfig({ SERVE_PROCESSES: " 2 " }).serveProcesses).toBe(2);
    expect(loadConfig({ SERVE_PROCESSES: "auto" }).serveProcesses).toBe(availableParallelism());
  });

  it.each(["0", "abc", "-1", "1.5", "65", "AUTO"])("refuses SERVE_PROCESSES=%s", (value) => {
    expect(configError({ SERVE_PROCESSES: value }).issues).toEqual([
      {
        path: "SERVE_PROCESSES",
        message: "must be a whole number between 1 and 64, or auto (one per core)",
      },
    ]);
  });
});
