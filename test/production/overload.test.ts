/**
 * The HTTP API under overload and during shutdown, through app.inject on fake services: past a
 * threshold every request but the probes gets 503 problem+json with Retry-After; once shutdown
 * began, new requests get 503 and are told to close the connection. Security headers are on.
 */
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/platform/config.ts";
import { createLogger } from "../../src/platform/logger.ts";
import { type App, buildApp } from "../../src/transport/http/app.ts";
import { waitFor } from "../helpers/wait.ts";
import { createFakeServices } from "../transport/http/fake-services.ts";
import { expectProblem } from "../transport/http/helpers.ts";

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function app(env: Record<string, string>, shuttingDown?: () => boolean) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const built = buildApp({
    config: loadConfig({ NODE_ENV: "test", ...env }),
    logger: createLogger({ level: "info", destination }),
    services: createFakeServices(),
    ...(shuttingDown ? { shuttingDown } : {}),
  });
  apps.push(built);
  return { app: built, lines };
}

const predict = { model: "xor", inputs: [[0, 1]] };

const until = <T>(probe: () => Promise<T | undefined>) =>
  waitFor("the server's answer to change", probe, { timeoutMs: 10_000, intervalMs: 10 });

describe("under overload", () => {
  it("answers 503 problem+json with Retry-After once the heap passes its threshold", async () => {
    const { app: api, lines } = app({
      OVERLOAD_MAX_HEAP_USED_BYTES: String(1024 * 1024),
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "0",
      OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: "0",
      OVERLOAD_SAMPLE_MS: "10",
      OVERLOAD_RETRY_AFTER_S: "7",
    });
    const response = await until(async () => {
      const r = await api.inject({ method: "POST", url: "/predict", payload: predict });
      return r.statusCode === 503 ? r : undefined;
    });
    const problem = expectProblem(response, 503, "UNAVAILABLE");
    expect(problem.detail).toMatch(/overloaded \(heapUsedBytes\); retry after 7 s/);
    expect(response.headers["retry-after"]).toBe("7");
    expect(lines.some((line) => line.msg === "overloaded: answering 503 to new requests")).toBe(
      true,
    );
  });

  it("keeps the probes answering while it sheds load", async () => {
    const { app: api } = app({
      OVERLOAD_MAX_HEAP_USED_BYTES: String(1024 * 1024),
      OVERLOAD_SAMPLE_MS: "10",
    });
    await until(async () => {
      const r = await api.inject({ method: "GET", url: "/models" });
      return r.statusCode === 503 ? r : undefined;
    });
    expect((await api.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    expect((await api.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
  });

  it("sheds load while the event loop lags, and serves again once it catches up", async () => {
    const { app: api } = app({
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "50",
      OVERLOAD_SAMPLE_MS: "10",
    });
    await api.ready();
    const blocked = await until(async () => {
      const end = Date.now() + 150;
      while (Date.now() < end) {
        // Keep the event loop busy, as a CPU-bound handler would.
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      const r = await api.inject({ method: "POST", url: "/predict", payload: predict });
      return r.statusCode === 503 ? r : undefined;
    });
    expectProblem(blocked, 503, "UNAVAILABLE");
    const recovered = await until(async () => {
      const r = await api.inject({ method: "POST", url: "/predict", payload: predict });
      return r.statusCode === 503 ? undefined : r;
    });
    expect(recovered.statusCode).not.toBe(503);
  });
});

describe("during shutdown", () => {
  it("refuses new requests with 503 and Connection: close, but not the probes", async () => {
    let stopping = false;
    const { app: api } = app({}, () => stopping);
    expect((await api.inject({ method: "GET", url: "/models" })).statusCode).toBe(200);
    stopping = true;
    const refused = await api.inject({ method: "POST", url: "/predict", payload: predict });
    expectProblem(refused, 503, "UNAVAILABLE");
    expect(refused.headers["retry-after"]).toBe("1");
    expect(refused.headers.connection).toBe("close");
    expect((await api.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });
});

describe("security headers", () => {
  it("are sent on API answers and errors", async () => {
    const { app: api } = app({});
    for (const url of ["/healthz", "/no-such-route"]) {
      const response = await api.inject({ method: "GET", url });
      expect(response.headers["x-content-type-options"]).toBe("nosniff");
      expect(response.headers["x-frame-options"]).toBe("SAMEORIGIN");
      expect(response.headers["content-security-policy"]).toMatch(/default-src 'self'/);
      // Plain http by default: no upgrade of /docs' assets to https, no HSTS.
      expect(response.headers["content-security-policy"]).not.toMatch(/upgrade-insecure-requests/);
      expect(response.headers["strict-transport-security"]).toBeUndefined();
    }
  });

  it("ask for https only behind TLS (TRUST_PROXY_TLS)", async () => {
    const { app: api } = app({ TRUST_PROXY_TLS: "true" });
    const response = await api.inject({ method: "GET", url: "/docs/" });
    expect(response.headers["strict-transport-security"]).toMatch(/max-age=/);
    expect(response.headers["content-security-policy"]).toMatch(/upgrade-insecure-requests/);
  });

  it("leave the docs page loadable", async () => {
    const { app: api } = app({});
    const page = await api.inject({ method: "GET", url: "/docs/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
  });
});
