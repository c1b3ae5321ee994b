import { afterEach, describe, expect, it } from "vitest";
import { expectProblem, testApp, xorRequest } from "./helpers.ts";

let current: ReturnType<typeof testApp> | undefined;
function setup(env: Record<string, string> = {}) {
  current = testApp(env);
  return current;
}
afterEach(async () => {
  await current?.app.close();
});

describe("POST /train", () => {
  it("queues a job: 202, Location of the job, the documented body", async () => {
    const { app, services } = setup();
    const response = await app.inject({ method: "POST", url: "/train", payload: xorRequest() });
    expect(response.statusCode).toBe(202);
    const body = response.json();
    expect(body).toEqual({ jobId: expect.any(String), model: "xor", version: 1, status: "queued" });
    expect(response.headers.location).toBe(`/jobs/${body.jobId}`);
    expect(services.submitted[0]!.request.training).toMatchObject({ epochs: 500, shuffle: true });
  });

  it("passes the Idempotency-Key to the service and answers a replay with 200 and the same job", async () => {
    const { app, services } = setup();
    const send = () =>
      app.inject({
        method: "POST",
        url: "/train",
        payload: xorRequest(),
        headers: { "idempotency-key": "retry-7" },
      });
    const first = await send();
    const second = await send();
    expect(services.submitted.map((s) => s.options)).toEqual([
      { idempotencyKey: "retry-7" },
      { idempotencyKey: "retry-7" },
    ]);
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual(first.json());
    expect(second.headers.location).toBe(first.headers.location);
  });

  it("submits without a key when none is given", async () => {
    const { app, services } = setup();
    await app.inject({ method: "POST", url: "/train", payload: xorRequest() });
    expect(services.submitted[0]!.options).toEqual({});
  });

  it("rejects an unusable Idempotency-Key", async () => {
    const { app } = setup();
    const response = await app.inject({
      method: "POST",
      url: "/train",
      payload: xorRequest(),
      headers: { "idempotency-key": "x".repeat(300) },
    });
    const problem = expectProblem(response, 400, "VALIDATION_FAILED");
    expect(problem.errors).toEqual([
      { path: "idempotency-key", message: "must be 1-255 visible ASCII characters" },
    ]);
  });

  it("answers a schema violation with 400 and field paths rooted at the body", async () => {
    const { app, services } = setup();
    const payload = xorRequest();
    payload.network.layers[0]!.units = 0;
    const response = await app.inject({ method: "POST", url: "/train", payload });
    const problem = expectProblem(response, 400, "VALIDATION_FAILED");
    expect(problem.instance).toBe("/train");
    expect(problem.errors).toContainEqual({
      path: "network.layers[0].units",
      message: expect.stringContaining("from 1 to 4096"),
    });
    expect(services.submitted).toHaveLength(0);
  });

  it("reports an overflowing number in the JSON body at its index", async () => {
    const { app } = setup();
    const text = JSON.stringify(xorRequest()).replace("[1,1]]", "[1,1e400]]");
    const response = await app.inject({
      method: "POST",
      url: "/train",
      payload: text,
      headers: { "content-type": "application/json" },
    });
    const problem = expectProblem(response, 400, "VALIDATION_FAILED");
    expect(problem.errors).toContainEqual({
      path: "data.inputs[3][1]",
      message: expect.stringContaining("finite number"),
    });
  });

  it("answers malformed JSON with 400 and where it broke", async () => {
    const { app } = setup();
    const response = await app.inject({
      method: "POST",
      url: "/train",
      payload: '{"model": "xor",',
      headers: { "content-type": "application/json" },
    });
    const problem = expectProblem(response, 400, "MALFORMED_REQUEST");
    expect(problem.detail).toMatch(/^The body is not valid JSON: /);
  });

  it("rejects a prototype-poisoning body", async () => {
    const { app } = setup();
    const response = await app.inject({
      method: "POST",
      url: "/train",
      payload: '{"__proto__": {"admin": true}}',
      headers: { "content-type": "application/json" },
    });
    expectProblem(response, 400, "MALFORMED_REQUEST");
  });

  it("answers a body over BODY_LIMIT_BYTES with 413", async () => {
    const { app, services } = setup({ BODY_LIMIT_BYTES: "2048" });
    const payload = xorRequest();
    payload.data.inputs = Array.from({ length: 400 }, () => [0.123456, 0.654321]);
    const response = await app.inject({ method: "POST", url: "/train", payload });
    const problem = expectProblem(response, 413, "PAYLOAD_TOO_LARGE");
    expect(problem.detail).toContain("2048 bytes");
    expect(services.submitted).toHaveLength(0);
  });

  it("answers a non-JSON content type with 415", async () => {
    const { app } = setup();
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded"]) {
      const response = await app.inject({
        method: "POST",
        url: "/train",
        payload: "model=xor",
        headers: { "content-type": contentType },
      });
      expectProblem(response, 415, "UNSUPPORTED_MEDIA_TYPE");
    }
  });

  it("answers an empty body with 400, not a crash", async () => {
    const { app } = setup();
    const response = await app.inject({
      method: "POST",
      url: "/train",
      headers: { "content-type": "application/json" },
    });
    expectProblem(response, 400, "VALIDATION_FAILED");
  });
});
