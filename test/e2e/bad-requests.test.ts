/**
 * Bad requests against the real app (startNnserve on Postgres, BODY_LIMIT_BYTES=2048): each one
 * is answered with its status and an application/problem+json body naming the problem type and
 * the offending field, and none of them changes a row of any table.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../src/platform/validation/problem.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { clustersRequest, quickXorRequest, XOR_INPUTS } from "../helpers/requests.ts";
import {
  countRows,
  type RequestOptions,
  startTestServer,
  type TestServer,
  waitForJob,
} from "../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;
let trainedJobId: string;
let baseline: Awaited<ReturnType<typeof countRows>>;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url, env: { BODY_LIMIT_BYTES: "2048" } });
  const accepted = await server.http.post<TrainAccepted>("/train", quickXorRequest("trained"));
  trainedJobId = accepted.body.jobId;
  expect((await waitForJob(server.http, trainedJobId)).status).toBe("succeeded");
  baseline = await countRows(db.pool);
  expect(baseline).toMatchObject({ models: 1, model_versions: 1, training_jobs: 1 });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

type Body = ReturnType<typeof quickXorRequest> & Record<string, unknown>;
/** A valid XOR request (fits the 2 KiB limit), changed by `edit`. */
function train(edit: (body: Body) => void): RequestOptions {
  const body = structuredClone(quickXorRequest("bad")) as Body;
  edit(body);
  return { json: body };
}
function trainClusters(edit: (body: Body) => void): RequestOptions {
  const body = structuredClone(clustersRequest("bad")) as Body;
  body.data = { inputs: body.data.inputs.slice(0, 6), labels: body.data.labels!.slice(0, 6) };
  edit(body);
  return { json: body };
}
const cursor = (text: string) => Buffer.from(text).toString("base64url");

interface Case {
  name: string;
  method: "GET" | "POST" | "DELETE" | "PUT";
  url: string | (() => string);
  options?: RequestOptions;
  status: number;
  type: string;
  /** Every errors[].path, in order; undefined when the problem has no field errors. */
  paths?: string[];
}

const CASES: Case[] = [
  // POST /train: the body
  {
    name: "an unknown field (a typo of epochs)",
    method: "POST",
    url: "/train",
    options: train((b) => Object.assign(b.training, { epoch: 5 })),
    status: 400,
    type: "validation-failed",
    paths: ["training.epoch"],
  },
  {
    name: "an unknown top-level field",
    method: "POST",
    url: "/train",
    options: train((b) => Object.assign(b, { optimiser: { name: "sgd" } })),
    status: 400,
    type: "validation-failed",
    paths: ["optimiser"],
  },
  {
    name: "ragged input rows",
    method: "POST",
    url: "/train",
    options: train((b) => {
      b.data.inputs = [[0, 0], [0], [1, 0], [1, 1]];
    }),
    status: 400,
    type: "validation-failed",
    paths: ["data.inputs[1]"],
  },
  {
    name: "targets wider than the output layer",
    method: "POST",
    url: "/train",
    options: train((b) => {
      b.data.targets = [[0, 1], [1], [1], [0]];
    }),
    status: 400,
    type: "validation-failed",
    paths: ["data.targets[0]"],
  },
  {
    name: "fewer targets than input rows",
    method: "POST",
    url: "/train",
    options: train((b) => {
      b.data.targets = [[0], [1], [1]];
    }),
    status: 400,
    type: "validation-failed",
    paths: ["data.targets"],
  },
  {
    name: "a class label out of range for a 3-unit softmax",
    method: "POST",
    url: "/train",
    options: trainClusters((b) => {
      b.data.labels![4] = 3;
    }),
    status: 400,
    type: "validation-failed",
    paths: ["data.labels[4]"],
  },
  {
    name: "class labels with a regression loss",
    method: "POST",
    url: "/train",
    options: trainClusters((b) => {
      b.loss = "mse";
    }),
    status: 400,
    type: "validation-failed",
    paths: ["data.labels"],
  },
  {
    name: "both targets and labels",
    method: "POST",
    url: "/train",
    options: train((b) => {
      b.data.labels = [0, 1, 1, 0];
    }),
    status: 400,
    type: "validation-failed",
    paths: ["data"],
  },
  {
    name: "a layer with zero units",
    method: "POST",
    url: "/train",
    options: train((b) => {
      b.network.layers[0]!.units = 0;
    }),
    status: 400,
    type: "validation-failed",
    paths: ["network.layers[0].units"],
  },
  {
    name: "an unknown activation",
    method: "POST",
    url: "/train",
    options: train((b) => {
      (b.network.layers[0] as { activation: string }).activation = "sigmoidal";
    }),
    status: 400,
    type: "validation-failed",
    paths: ["network.layers[0].activation"],
  },
  {
    name: "softmax on a hidden layer",
    method: "POST",
    url: "/train",
    options: trainClusters((b) => {
      b.network.layers[0]!.activation = "softmax";
    }),
    status: 400,
    type: "validation-failed",
    paths: ["network.layers[0].activation"],
  },
  {
    name: "binaryCrossentropy on a softmax output",
    method: "POST",
    url: "/train",
    options: trainClusters((b) => {
      b.loss = "binaryCrossentropy";
    }),
    status: 400,
    type: "validation-failed",
    paths: ["loss"],
  },
  {
    name: "an upper-case model name",
    method: "POST",
    url: "/train",
    options: train((b) => {
      b.model = "XOR";
    }),
    status: 400,
    type: "validation-failed",
    paths: ["model"],
  },
  {
    name: "more epochs than MAX_EPOCHS",
    method: "POST",
    url: "/train",
    options: train((b) => {
      b.training.epochs = 10_001;
    }),
    status: 400,
    type: "validation-failed",
    paths: ["training.epochs"],
  },
  {
    name: "a negative learning rate",
    method: "POST",
    url: "/train",
    options: train((b) => {
      b.optimizer = { name: "adam", learningRate: -0.1 };
    }),
    status: 400,
    type: "validation-failed",
    paths: ["optimizer.learningRate"],
  },
  {
    name: "a validation split of 1",
    method: "POST",
    url: "/train",
    options: train((b) => {
      b.training.validationSplit = 1;
    }),
    status: 400,
    type: "validation-failed",
    paths: ["training.validationSplit"],
  },
  {
    name: "a number that overflows to Infinity",
    method: "POST",
    url: "/train",
    options: {
      body: JSON.stringify(quickXorRequest("bad")).replace("[[0,0]", "[[1e400,0]"),
      headers: { "content-type": "application/json" },
    },
    status: 400,
    type: "validation-failed",
    paths: ["data.inputs[0][0]"],
  },
  {
    name: "no data at all",
    method: "POST",
    url: "/train",
    options: train((b) => {
      delete (b as Partial<Body>).data;
    }),
    status: 400,
    type: "validation-failed",
    paths: ["data"],
  },
  {
    name: "an Idempotency-Key over 255 characters",
    method: "POST",
    url: "/train",
    options: { ...train(() => {}), headers: { "idempotency-key": "k".repeat(256) } },
    status: 400,
    type: "validation-failed",
    paths: ["idempotency-key"],
  },
  // POST /train: the transport
  {
    name: "a body that is not JSON",
    method: "POST",
    url: "/train",
    options: { body: '{"model": "xor",', headers: { "content-type": "application/json" } },
    status: 400,
    type: "malformed-request",
  },
  {
    name: "an empty JSON body",
    method: "POST",
    url: "/train",
    options: { body: "", headers: { "content-type": "application/json" } },
    status: 400,
    type: "validation-failed",
    paths: [""],
  },
  {
    name: "a text/plain body",
    method: "POST",
    url: "/train",
    options: {
      body: JSON.stringify(quickXorRequest("bad")),
      headers: { "content-type": "text/plain" },
    },
    status: 415,
    type: "unsupported-media-type",
  },
  {
    name: "a body over BODY_LIMIT_BYTES",
    method: "POST",
    url: "/train",
    options: train((b) => {
      b.data.inputs = Array.from({ length: 200 }, () => [0.123456, 0.654321]);
      b.data.targets = Array.from({ length: 200 }, () => [1]);
    }),
    status: 413,
    type: "payload-too-large",
  },
  // Jobs
  {
    name: "an unknown job id",
    method: "GET",
    url: `/jobs/${randomUUID()}`,
    status: 404,
    type: "not-found",
  },
  {
    name: "a job id that is not a UUID",
    method: "GET",
    url: "/jobs/42",
    status: 400,
    type: "validation-failed",
    paths: ["id"],
  },
  {
    name: "metrics of an unknown job",
    method: "GET",
    url: `/jobs/${randomUUID()}/metrics`,
    status: 404,
    type: "not-found",
  },
  {
    name: "cancelling a job that already succeeded",
    method: "POST",
    url: () => `/jobs/${trainedJobId}/cancel`,
    status: 409,
    type: "conflict",
  },
  {
    name: "cancelling an unknown job",
    method: "POST",
    url: `/jobs/${randomUUID()}/cancel`,
    status: 404,
    type: "not-found",
  },
  {
    name: "a cursor this API never returned",
    method: "GET",
    url: "/jobs?cursor=not-a-cursor",
    status: 400,
    type: "validation-failed",
    paths: ["cursor"],
  },
  {
    name: "a cursor with a valid time but an id that is not a UUID",
    method: "GET",
    url: `/jobs?cursor=${cursor("2026-11-27T04:00:00.000Z|not-a-uuid")}`,
    status: 400,
    type: "validation-failed",
    paths: ["cursor"],
  },
  {
    name: "a cursor with a time before any database can store",
    method: "GET",
    url: `/jobs?cursor=${cursor(`-271821-04-20T00:00:00.000Z|${randomUUID()}`)}`,
    status: 400,
    type: "validation-failed",
    paths: ["cursor"],
  },
  {
    name: "a cursor in the year 0",
    method: "GET",
    url: `/jobs?cursor=${cursor(`0000-01-01T00:00:00.000Z|${randomUUID()}`)}`,
    status: 400,
    type: "validation-failed",
    paths: ["cursor"],
  },
  {
    name: "a limit of 0",
    method: "GET",
    url: "/jobs?limit=0",
    status: 400,
    type: "validation-failed",
    paths: ["limit"],
  },
  {
    name: "a limit that is not a number",
    method: "GET",
    url: "/jobs?limit=ten",
    status: 400,
    type: "validation-failed",
    paths: ["limit"],
  },
  {
    name: "an unknown status filter",
    method: "GET",
    url: "/jobs?status=done",
    status: 400,
    type: "validation-failed",
    paths: ["status"],
  },
  {
    name: "an unknown query parameter",
    method: "GET",
    url: "/jobs?sort=asc",
    status: 400,
    type: "validation-failed",
    paths: ["sort"],
  },
  // Predict and models
  {
    name: "predicting with an unknown model",
    method: "POST",
    url: "/predict",
    options: { json: { model: "nope", inputs: XOR_INPUTS } },
    status: 404,
    type: "not-found",
  },
  {
    name: "predicting with an unknown version of a trained model",
    method: "POST",
    url: "/predict",
    options: { json: { model: "trained", version: 7, inputs: XOR_INPUTS } },
    status: 404,
    type: "not-found",
  },
  {
    name: "predicting rows of the wrong width for the trained model",
    method: "POST",
    url: "/predict",
    options: { json: { model: "trained", inputs: [[0, 1, 1]] } },
    status: 400,
    type: "validation-failed",
    paths: ["inputs[0]"],
  },
  {
    name: "predicting ragged rows",
    method: "POST",
    url: "/predict",
    options: { json: { model: "trained", inputs: [[0, 1], [1]] } },
    status: 400,
    type: "validation-failed",
    paths: ["inputs[1]"],
  },
  {
    name: "predicting version 0",
    method: "POST",
    url: "/predict",
    options: { json: { model: "trained", version: 0, inputs: [[0, 1]] } },
    status: 400,
    type: "validation-failed",
    paths: ["version"],
  },
  {
    name: "a model name with a space",
    method: "GET",
    url: "/models/my%20model",
    status: 400,
    type: "validation-failed",
    paths: ["name"],
  },
  {
    name: "deleting an unknown model",
    method: "DELETE",
    url: "/models/nope",
    status: 404,
    type: "not-found",
  },
  {
    name: "an unknown route",
    method: "PUT",
    url: "/train",
    status: 404,
    type: "not-found",
  },
];

describe("bad requests against the real app", () => {
  it("has at least 25 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(25);
  });

  it.each(CASES)("answers $name with $status", async (c) => {
    const url = typeof c.url === "function" ? c.url() : c.url;
    const response = await server.http.request<Problem>(c.method, url, c.options);
    expect(response.status, JSON.stringify(response.body)).toBe(c.status);
    expect(response.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
    expect(response.body).toMatchObject({
      type: `https://nnserve.dev/problems/${c.type}`,
      status: c.status,
      title: expect.any(String),
      detail: expect.any(String),
      requestId: response.headers.get("x-request-id"),
    });
    expect(response.body.errors?.map((e) => e.path)).toEqual(c.paths);
    for (const error of response.body.errors ?? []) expect(error.message).not.toBe("");
    expect(await countRows(db.pool)).toEqual(baseline);
  });
});
