/**
 * JOB_THREADS=2: a job trains each batch in halves on two threads (the worker-pool thread and a
 * helper it starts) and ends like any other job: succeeded, every epoch stored, and the model
 * predicting the right classes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { JobMetrics } from "../../src/training/jobs/schemas.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { clusters, clustersRequest } from "../helpers/requests.ts";
import { startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url, env: { JOB_THREADS: "2" } });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

describe("a job on two threads", () => {
  it("trains to success and predicts the classes it learned", async () => {
    const submitted = await server.http.post<TrainAccepted>("/train", clustersRequest("halves"));
    expect(submitted.status).toBe(202);
    const job = await waitForJob(server.http, submitted.body.jobId);
    expect(job).toMatchObject({ status: "succeeded", attempts: 1, progress: { epoch: 150 } });

    const metrics = await server.http.get<JobMetrics>(`/jobs/${job.id}/metrics`);
    expect(metrics.body.epochs).toHaveLength(150);

    const { inputs, labels } = clusters(4);
    const predicted = await server.http.post<PredictResponse>("/predict", {
      model: "halves",
      inputs,
    });
    expect(predicted.status).toBe(200);
    expect(predicted.body.classes).toEqual(labels);
  });
});
