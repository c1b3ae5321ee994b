/**
 * gRPC parity for operating a model (in-process server, real Postgres): batch scoring started,
 * followed and read as a stream; explanations; drift; feedback and performance; the REST
 * errors with the same paths as INVALID_ARGUMENT, NOT_FOUND and FAILED_PRECONDITION.
 */
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Dataset } from "../../../src/datasets/schemas.ts";
import type { BatchPrediction__Output } from "../../../src/generated/grpc/nnserve/v1/BatchPrediction.ts";
import type { BatchPredictionResults__Output } from "../../../src/generated/grpc/nnserve/v1/BatchPredictionResults.ts";
import type { DriftReport__Output } from "../../../src/generated/grpc/nnserve/v1/DriftReport.ts";
import type { ExplainResponse__Output } from "../../../src/generated/grpc/nnserve/v1/ExplainResponse.ts";
import type { FeedbackResponse__Output } from "../../../src/generated/grpc/nnserve/v1/FeedbackResponse.ts";
import type { Performance__Output } from "../../../src/generated/grpc/nnserve/v1/Performance.ts";
import type { PredictResponse } from "../../../src/prediction/request.ts";
import type { TrainAccepted } from "../../../src/training/request.ts";
import { loadProtos } from "../../../src/transport/grpc/protos.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { uploadCsv } from "../../helpers/datasets.ts";
import { startTestServer, type TestServer, waitFor, waitForJob } from "../../helpers/server.ts";
import { failure, fieldIssues, readAll, status, unary } from "./helpers.ts";

let db: TestDatabase;
let server: TestServer;
// biome-ignore lint/suspicious/noExplicitAny: the generated client's constructor type
let operate: any;
let dataset: Dataset;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    env: { PREDICTION_LOG_RATE: "1", DRIFT_SAMPLE_RATE: "1", SCORING_CHUNK_ROWS: "4" },
  });
  const { grpc } = loadProtos();
  operate = new grpc.nnserve.v1.Operate(server.grpcAddress, credentials.createInsecure());
  const lines = ["id,x,plan,y"];
  for (let i = 0; i < 30; i++)
    lines.push(`r${i},${i},${["a", "b"][i % 2]},${i < 15 ? "lo" : "hi"}`);
  dataset = await uploadCsv(server.url, "ops", lines.join("\n"));
  const accepted = await server.http.post<TrainAccepted>("/train", {
    model: "ops",
    dataset: dataset.id,
    target: "y",
    features: ["x", "plan"],
    network: {
      layers: [
        { units: 4, activation: "tanh" },
        { units: 2, activation: "softmax" },
      ],
    },
    loss: "sparseCategoricalCrossentropy",
    training: { epochs: 5, batchSize: 8, seed: 1 },
  });
  expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");
});

afterAll(async () => {
  operate?.close();
  await server?.close();
  await db?.close();
});

describe("nnserve.v1.Operate", () => {
  it("starts, follows and streams a batch scoring job", async () => {
    const started = await unary<BatchPrediction__Output>((cb) =>
      operate.StartBatchPrediction(
        { model: "ops", dataset: dataset.id, passthrough: ["id"], ignoreExtraColumns: true },
        cb,
      ),
    );
    expect(started).toMatchObject({ model: "ops", version: 1, totalRows: 30, chunkRows: 4 });
    await waitFor("the batch job", async () => {
      const job = await unary<BatchPrediction__Output>((cb) =>
        operate.GetBatchPrediction({ id: started.id }, cb),
      );
      return job.status === "succeeded" ? job : undefined;
    });
    const messages = await readAll<BatchPredictionResults__Output>(
      operate.ReadBatchPredictionResults({ id: started.id }),
    );
    const rows = messages.flatMap((m) => m.rows).map((line) => JSON.parse(line));
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 30 }, (_, i) => `r${i}`));
    expect(Object.keys(rows[0])).toEqual(["id", "label", "probabilities"]);

    const bad = await failure(
      unary((cb) =>
        operate.StartBatchPrediction(
          { model: "ops", dataset: dataset.id, passthrough: ["nope"] },
          cb,
        ),
      ),
    );
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(bad.metadata).map((i) => i.path)).toContain("passthrough[0]");
    const missing = await failure(
      unary((cb) => operate.GetBatchPrediction({ id: "00000000-0000-4000-8000-000000000000" }, cb)),
    );
    expect(missing.code).toBe(status.NOT_FOUND);
  });

  it("explains, reports drift, and joins feedback", async () => {
    const explained = await unary<ExplainResponse__Output>((cb) =>
      operate.Explain({ model: "ops", inputsJson: JSON.stringify([{ x: 3, plan: "a" }]) }, cb),
    );
    const e = explained.explanations[0]!;
    expect(Object.keys(e.attributions).sort()).toEqual(["plan", "x"]);
    const total = Object.values(e.attributions).reduce((s, v) => s + v, 0);
    expect(Math.abs(total - (e.output - e.baselineOutput))).toBeLessThan(1e-3);
    const badBaseline = await failure(
      unary((cb) =>
        operate.Explain(
          {
            model: "ops",
            inputsJson: JSON.stringify([{ x: 3, plan: "a" }]),
            baselineJson: '{"plan":"z"}',
          },
          cb,
        ),
      ),
    );
    expect(badBaseline.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(badBaseline.metadata).map((i) => i.path)).toEqual(["baseline.plan"]);

    const predicted = await server.http.post<PredictResponse>("/predict", {
      model: "ops",
      inputs: [{ x: 2, plan: "a" }],
    });
    const drift = await unary<DriftReport__Output>((cb) =>
      operate.GetDrift({ model: "ops", version: 1, window: "1h" }, cb),
    );
    expect(drift.rows).toBeGreaterThanOrEqual(1);
    expect(drift.features.map((f) => f.feature)).toEqual(["x", "plan"]);
    const badWindow = await failure(
      unary((cb) => operate.GetDrift({ model: "ops", version: 1, window: "soon" }, cb)),
    );
    expect(badWindow.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(badWindow.metadata)[0]!.path).toBe("window");

    const id = predicted.body.predictionIds![0]!;
    const label = (predicted.body.predictions![0] as { label: string }).label;
    const sent = await unary<FeedbackResponse__Output>((cb) =>
      operate.SendFeedback({ model: "ops", items: [{ predictionId: id, label }] }, cb),
    );
    expect(sent.accepted).toBe(1);
    const unknown = await failure(
      unary((cb) =>
        operate.SendFeedback(
          {
            model: "ops",
            items: [{ predictionId: "00000000-0000-4000-8000-000000000000", label }],
          },
          cb,
        ),
      ),
    );
    expect(unknown.code).toBe(status.NOT_FOUND);
    const performance = await unary<Performance__Output>((cb) =>
      operate.GetPerformance({ model: "ops", version: 1, window: "1h" }, cb),
    );
    expect(performance).toMatchObject({ withFeedback: 1, accuracy: 1 });
  });
});
