import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { unavailable } from "../../../src/platform/errors.ts";
import { expectProblem, testApp } from "./helpers.ts";

let current: ReturnType<typeof testApp> | undefined;
function setup() {
  current = testApp();
  return current;
}
afterEach(async () => {
  await current?.app.close();
});

describe("errors and request ids", () => {
  it("answers an unknown route with a 404 problem", async () => {
    const { app } = setup();
    const problem = expectProblem(
      await app.inject({ method: "GET", url: "/nope?x=1" }),
      404,
      "NOT_FOUND",
    );
    expect(problem).toMatchObject({
      instance: "/nope?x=1",
      detail: "No route matches GET /nope; the API is described at /docs.",
    });
  });

  it("hides the internals of an unexpected error and logs them under the request id", async () => {
    const { app, services, lines } = setup();
    services.training.getJob = async () => {
      throw new Error("relation training_jobs does not exist at 10.0.0.7");
    };
    const response = await app.inject({ method: "GET", url: `/jobs/${randomUUID()}` });
    const problem = expectProblem(response, 500, "INTERNAL");
    expect(response.body).not.toContain("training_jobs");
    expect(response.body).not.toContain("10.0.0.7");
    expect(problem.detail).toContain(problem.requestId);
    const logged = lines.find((line) => line.msg === "request failed");
    expect(logged).toMatchObject({ level: 50, reqId: problem.requestId });
    expect(JSON.stringify(logged)).toContain("relation training_jobs does not exist");
  });

  it("shows the message of a deliberate 503", async () => {
    const { app, services } = setup();
    services.training.getJob = async () => {
      throw unavailable("The database is not reachable; retry shortly.");
    };
    const response = await app.inject({ method: "GET", url: `/jobs/${randomUUID()}` });
    const problem = expectProblem(response, 503, "UNAVAILABLE");
    expect(problem.detail).toBe("The database is not reachable; retry shortly.");
  });

  it("generates a request id, echoes it, and writes one log line per request", async () => {
    const { app, lines } = setup();
    const response = await app.inject({ method: "GET", url: "/models" });
    const id = response.headers["x-request-id"];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const logged = lines.filter((line) => line.reqId === id);
    expect(logged).toEqual([
      expect.objectContaining({
        msg: "request",
        level: 30,
        method: "GET",
        url: "/models",
        statusCode: 200,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it("keeps a well-formed client request id and replaces a suspicious one", async () => {
    const { app } = setup();
    const kept = await app.inject({
      method: "GET",
      url: "/healthz",
      headers: { "x-request-id": "client-42" },
    });
    expect(kept.headers["x-request-id"]).toBe("client-42");
    const replaced = await app.inject({
      method: "GET",
      url: "/healthz",
      headers: { "x-request-id": "evil\u001b[31m id" },
    });
    expect(replaced.headers["x-request-id"]).not.toContain("evil");
  });
});

describe("health", () => {
  it("is alive", async () => {
    const { app } = setup();
    const response = await app.inject({ method: "GET", url: "/healthz" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: "ok" });
  });

  it("is ready when every check passes, and 503 with the checks when not", async () => {
    const { app, services } = setup();
    expect((await app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
    services.readinessReport = {
      ready: false,
      checks: { database: { ok: false, detail: "connection refused" } },
    };
    const response = await app.inject({ method: "GET", url: "/readyz" });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual(services.readinessReport);
  });
});

describe("OpenAPI", () => {
  it("documents every route from the zod schemas", async () => {
    const { app } = setup();
    const response = await app.inject({ method: "GET", url: "/docs/json" });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toBe("3.1.0");
    const operations = Object.entries(doc.paths as Record<string, object>).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        "POST /train",
        "GET /jobs",
        "GET /jobs/{id}",
        "GET /jobs/{id}/metrics",
        "GET /jobs/{id}/events",
        "POST /jobs/{id}/cancel",
        "POST /predict",
        "GET /models",
        "GET /models/{name}",
        "DELETE /models/{name}",
        "GET /models/{name}/versions/{version}/onnx",
        "GET /models/{name}/versions/{version}/export",
        "POST /models/{name}/import",
        "POST /datasets",
        "GET /datasets",
        "GET /datasets/{id}",
        "DELETE /datasets/{id}",
        "GET /healthz",
        "GET /readyz",
        // The Open Inference Protocol (routes/v2.ts)
        "GET /v2",
        "GET /v2/health/live",
        "GET /v2/health/ready",
        "GET /v2/models/{name}",
        "GET /v2/models/{name}/ready",
        "GET /v2/models/{name}/versions/{version}",
        "GET /v2/models/{name}/versions/{version}/ready",
        "POST /v2/models/{name}/infer",
        "POST /v2/models/{name}/versions/{version}/infer",
      ].sort(),
    );
    const onnx = doc.paths["/models/{name}/versions/{version}/onnx"].get;
    expect(onnx.responses["200"].content["application/onnx"].schema).toMatchObject({
      type: "string",
      format: "binary",
    });
    const train = doc.paths["/train"].post;
    const body = train.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties)).toEqual([
      "model",
      "network",
      "loss",
      "optimizer",
      "training",
      "data",
      "dataset",
      "target",
      "features",
      "task",
      "preprocessing",
      "from",
    ]);
    expect(body.additionalProperties).toBe(false);
    expect(train.responses["202"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/TrainAccepted",
    });
    expect(train.responses["400"].content["application/problem+json"]).toBeDefined();
    expect(train.parameters).toContainEqual(
      expect.objectContaining({ in: "header", name: "idempotency-key" }),
    );
  });

  it("serves the UI at /docs", async () => {
    const { app } = setup();
    const response = await app.inject({ method: "GET", url: "/docs/" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/html");
  });
});

describe("errors raised by fastify plugins", () => {
  it("keeps the status of a fastify 4xx and hides a plain 5xx", async () => {
    const { app } = setup();
    app.get("/teapot", async () => {
      throw Object.assign(new Error("Too many requests, slow down"), { statusCode: 429 });
    });
    app.get("/shed", async () => {
      throw Object.assign(new Error("Service Unavailable"), { statusCode: 503 });
    });
    app.get("/boom", async () => {
      throw Object.assign(new Error("pool exhausted: 10.0.0.7"), { statusCode: 502 });
    });
    expectProblem(await app.inject({ url: "/teapot" }), 429, "TOO_MANY_REQUESTS");
    expectProblem(await app.inject({ url: "/shed" }), 503, "UNAVAILABLE");
    const hidden = await app.inject({ url: "/boom" });
    expectProblem(hidden, 502, "INTERNAL");
    expect(hidden.body).not.toContain("10.0.0.7");
  });
});
