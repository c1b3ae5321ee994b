/**
 * The probe paths (src/transport/http/probes.ts) are one list, read by every place that treats probes
 * apart: the request log level (app.ts), the shutdown refusal (plugins/protection.ts) and auth
 * (plugins/auth.ts, through scopes.ts). Each place is checked on every probe path, and on paths
 * that merely look like one.
 */
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { KeyStore } from "../../../src/auth/key-store.ts";
import { loadConfig } from "../../../src/platform/config.ts";
import { createLogger } from "../../../src/platform/logger.ts";
import { createMetrics } from "../../../src/platform/metrics.ts";
import { type App, buildApp } from "../../../src/transport/http/app.ts";
import { isProbe } from "../../../src/transport/http/probes.ts";
import { createFakeServices } from "./fake-services.ts";

const PROBES = ["/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready"];
const LOOKALIKES = ["/healthz/x", "/metricsx", "/v2/health", "/v2/health/other", "/docs"];

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

// Keys are never checked here: only open paths and refusals without a key are requested.
const noKeys = {
  verify: async () => undefined,
} as Partial<KeyStore> as KeyStore;

function app(env: Record<string, string> = {}, shuttingDown?: () => boolean) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const built = buildApp({
    config: loadConfig({ NODE_ENV: "test", RATE_LIMIT_PER_MINUTE: "0", ...env }),
    logger: createLogger({ level: "debug", destination }),
    services: createFakeServices(),
    metrics: createMetrics({ processMetrics: false }),
    keys: noKeys,
    ...(shuttingDown ? { shuttingDown } : {}),
  });
  apps.push(built);
  return { app: built, lines };
}

describe("probe paths", () => {
  it("are the exact paths, with or without a query string", () => {
    for (const path of PROBES) {
      expect(isProbe({ url: path })).toBe(true);
      expect(isProbe({ url: `${path}?verbose=1` })).toBe(true);
    }
    for (const path of LOOKALIKES) expect(isProbe({ url: path })).toBe(false);
  });

  it("and the docs UI are logged at debug, every other request at info", async () => {
    const { app: api, lines } = app();
    const quiet = [...PROBES, "/docs/json", "/healthz?verbose=1"];
    for (const url of [...quiet, "/models"]) await api.inject({ method: "GET", url });
    const level = (url: string) =>
      lines.find((line) => line.msg === "request" && line.url === url)?.level;
    for (const url of quiet) expect(level(url), url).toBe(20);
    expect(level("/models")).toBe(30);
  });

  it("still answer during shutdown; everything else gets 503", async () => {
    const { app: api } = app({}, () => true);
    for (const url of PROBES) {
      const response = await api.inject({ method: "GET", url });
      expect(response.statusCode, url).toBe(200);
    }
    for (const url of ["/models", "/docs/json", "/v2/health/other"]) {
      const response = await api.inject({ method: "GET", url });
      expect(response.statusCode, url).toBe(503);
      expect(response.headers.connection, url).toBe("close");
    }
  });

  it("need no API key with AUTH on but /metrics; the docs UI and look-alikes do", async () => {
    const { app: api } = app({ AUTH: "on" });
    for (const url of PROBES.filter((p) => p !== "/metrics")) {
      const response = await api.inject({ method: "GET", url });
      expect(response.statusCode, url).toBe(200);
    }
    for (const url of ["/metrics", "/models", "/docs/json", "/metricsx", "/v2/health/other"]) {
      const response = await api.inject({ method: "GET", url });
      expect(response.statusCode, url).toBe(401);
    }
  });
});
