/** Builds an app on fake services with a silent logger whose lines the test can read. */
import { Writable } from "node:stream";
import { loadConfig } from "../../../src/platform/config.ts";
import { createLogger } from "../../../src/platform/logger.ts";
import { buildApp } from "../../../src/transport/http/app.ts";
import { createFakeServices } from "./fake-services.ts";

export function testApp(env: Record<string, string> = {}) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const config = loadConfig({ NODE_ENV: "test", ...env });
  const logger = createLogger({ level: "debug", destination });
  const services = createFakeServices();
  const app = buildApp({ config, logger, services });
  return { app, services, lines, config };
}

export const xorRequest = () => ({
  model: "xor",
  network: {
    inputs: 2,
    layers: [
      { units: 8, activation: "tanh" },
      { units: 1, activation: "sigmoid" },
    ],
  },
  loss: "binaryCrossentropy",
  optimizer: { name: "adam", learningRate: 0.01 },
  training: {
    epochs: 500,
    batchSize: 4,
    seed: 1,
    validationSplit: 0,
    earlyStopping: { patience: 20 },
  },
  data: {
    inputs: [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ],
    targets: [[0], [1], [1], [0]],
  },
});

import type { LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import type { Problem } from "../../../src/platform/validation/problem.ts";

/** Asserts an RFC 9457 problem response and returns its body. */
export function expectProblem(
  response: LightMyRequestResponse,
  status: number,
  code: string,
): Problem {
  expect(response.statusCode).toBe(status);
  expect(response.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
  const body = response.json() as Problem;
  expect(body).toMatchObject({
    type: `https://nnserve.dev/problems/${code.toLowerCase().replaceAll("_", "-")}`,
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
    requestId: response.headers["x-request-id"],
  });
  return body;
}
