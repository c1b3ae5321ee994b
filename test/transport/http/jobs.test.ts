import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { fakeJob } from "./fake-services.ts";
import { expectProblem, testApp } from "./helpers.ts";

let current: ReturnType<typeof testApp> | undefined;
function setup() {
  current = testApp();
  return current;
}
afterEach(async () => {
  await current?.app.close();
});

describe("GET /jobs/:id", () => {
  it("returns the job view", async () => {
    const { app, services } = setup();
    const job = fakeJob({
      status: "running",
      attempts: 1,
      progress: { epoch: 120, epochs: 500 },
      metrics: { loss: 0.31, accuracy: 0.75 },
      startedAt: "2026-11-27T04:01:00.000Z",
    });
    services.jobs.set(job.id, job);
    const response = await app.inject({ method: "GET", url: `/jobs/${job.id}` });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(response.json()).toEqual(job);
  });

  it("answers an unknown job with a 404 problem", async () => {
    const { app } = setup();
    const id = randomUUID();
    const problem = expectProblem(
      await app.inject({ method: "GET", url: `/jobs/${id}` }),
      404,
      "NOT_FOUND",
    );
    expect(problem).toMatchObject({ detail: `No job "${id}" exists.`, instance: `/jobs/${id}` });
  });

  it("rejects an id that is not a UUID", async () => {
    const { app } = setup();
    const problem = expectProblem(
      await app.inject({ method: "GET", url: "/jobs/123" }),
      400,
      "VALIDATION_FAILED",
    );
    expect(problem.errors).toEqual([{ path: "id", message: "must be a UUID" }]);
  });
});

describe("GET /jobs", () => {
  it("filters by status and model, with a default page size", async () => {
    const { app, services } = setup();
    const running = fakeJob({ status: "running", model: "xor" });
    services.jobs.set(running.id, running);
    const other = fakeJob({ status: "queued", model: "iris" });
    services.jobs.set(other.id, other);
    const response = await app.inject({ method: "GET", url: "/jobs?status=running&model=xor" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: [running], nextCursor: null });
  });

  it("passes limit and cursor to the service as parsed values", async () => {
    const { app, services } = setup();
    let seen: unknown;
    services.training.listJobs = async (query) => {
      seen = query;
      return { items: [], nextCursor: "next" };
    };
    const response = await app.inject({ method: "GET", url: "/jobs?limit=5&cursor=abc" });
    expect(response.json()).toEqual({ items: [], nextCursor: "next" });
    expect(seen).toEqual({ limit: 5, cursor: "abc" });
    await app.inject({ method: "GET", url: "/jobs" });
    expect(seen).toEqual({ limit: 20 });
  });

  it("rejects a bad status, an out-of-range limit and unknown parameters", async () => {
    const { app } = setup();
    const problem = expectProblem(
      await app.inject({ method: "GET", url: "/jobs?status=done&limit=0&stauts=x" }),
      400,
      "VALIDATION_FAILED",
    );
    expect(problem.errors!.map((e) => e.path).sort()).toEqual(["limit", "status", "stauts"]);
    expect(problem.errors!.find((e) => e.path === "stauts")!.message).toContain(
      'did you mean "status"',
    );
  });
});

describe("GET /jobs/:id/metrics", () => {
  it("returns every epoch", async () => {
    const { app, services } = setup();
    const job = fakeJob();
    services.jobs.set(job.id, job);
    const response = await app.inject({ method: "GET", url: `/jobs/${job.id}/metrics` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      jobId: job.id,
      epochs: [{ epoch: 1, loss: 0.5, accuracy: 0.5, durationMs: 2 }],
    });
  });

  it("answers an unknown job with 404", async () => {
    const { app } = setup();
    const response = await app.inject({ method: "GET", url: `/jobs/${randomUUID()}/metrics` });
    expectProblem(response, 404, "NOT_FOUND");
  });
});

describe("POST /jobs/:id/cancel", () => {
  it("accepts the cancellation with 202 and the job", async () => {
    const { app, services } = setup();
    const job = fakeJob({ status: "running" });
    services.jobs.set(job.id, job);
    const response = await app.inject({
      method: "POST",
      url: `/jobs/${job.id}/cancel`,
      headers: { "content-type": "application/json" },
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ id: job.id, cancelRequested: true });
  });

  it("answers 409 when the job already finished", async () => {
    const { app, services } = setup();
    const job = fakeJob({ status: "succeeded" });
    services.jobs.set(job.id, job);
    const problem = expectProblem(
      await app.inject({ method: "POST", url: `/jobs/${job.id}/cancel` }),
      409,
      "CONFLICT",
    );
    expect(problem.detail).toContain("already succeeded");
  });
});
