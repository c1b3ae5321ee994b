import { afterEach, describe, expect, it } from "vitest";
import { expectProblem, testApp } from "./helpers.ts";

let current: ReturnType<typeof testApp> | undefined;
function setup(env: Record<string, string> = {}) {
  current = testApp(env);
  return current;
}
afterEach(async () => {
  await current?.app.close();
});

describe("models", () => {
  it("lists models", async () => {
    const { app } = setup();
    const response = await app.inject({ method: "GET", url: "/models" });
    expect(response.statusCode).toBe(200);
    expect(response.json().items).toEqual([
      expect.objectContaining({ name: "xor", latestVersion: 1 }),
    ]);
  });

  it("returns one model, and a 404 problem for an unknown one", async () => {
    const { app } = setup();
    expect((await app.inject({ method: "GET", url: "/models/xor" })).json()).toMatchObject({
      name: "xor",
      versions: [],
    });
    const problem = expectProblem(
      await app.inject({ method: "GET", url: "/models/nope" }),
      404,
      "NOT_FOUND",
    );
    expect(problem.detail).toBe('No model "nope" exists.');
  });

  it("rejects a name the model-name rule forbids", async () => {
    const { app } = setup();
    const problem = expectProblem(
      await app.inject({ method: "GET", url: "/models/XOR" }),
      400,
      "VALIDATION_FAILED",
    );
    expect(problem.errors![0]).toMatchObject({ path: "name" });
  });

  it("deletes with 204 and no body", async () => {
    const { app } = setup();
    const response = await app.inject({ method: "DELETE", url: "/models/xor" });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe("");
    expectProblem(await app.inject({ method: "DELETE", url: "/models/xor" }), 404, "NOT_FOUND");
  });
});

describe("POST /predict", () => {
  it("returns outputs from the prediction service", async () => {
    const { app } = setup();
    const response = await app.inject({
      method: "POST",
      url: "/predict",
      payload: {
        model: "xor",
        inputs: [
          [0, 1],
          [1, 1],
        ],
      },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ model: "xor", version: 1, outputs: [[1], [2]] });
  });

  it("answers an unknown model with 404", async () => {
    const { app } = setup();
    const response = await app.inject({
      method: "POST",
      url: "/predict",
      payload: { model: "nope", inputs: [[0, 1]] },
    });
    expectProblem(response, 404, "NOT_FOUND");
  });

  it("rejects more rows than MAX_PREDICT_ROWS", async () => {
    const { app } = setup({ MAX_PREDICT_ROWS: "2" });
    const response = await app.inject({
      method: "POST",
      url: "/predict",
      payload: { model: "xor", inputs: [[0], [1], [2]] },
    });
    const problem = expectProblem(response, 400, "VALIDATION_FAILED");
    expect(problem.errors).toEqual([
      { path: "inputs", message: "has more than 2 rows, the limit per request" },
    ]);
  });
});
