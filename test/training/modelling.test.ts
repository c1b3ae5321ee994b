/**
 * The modelling features end to end (in-process server, one training thread, real Postgres):
 * a warm start that continues 10 epochs with 10 more and lands on the 20-epoch job's weights
 * bit for bit; a run that stops early and says so; the default recipe on Iris; and the 400s of
 * requests that cannot train (another architecture, no preprocessing match, an unknown class,
 * a warmup as long as the run), which write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../src/platform/validation/problem.ts";
import type { Job } from "../../src/training/jobs/schemas.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import type { Model } from "../../src/versions/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { irisCsv, uploadCsv } from "../helpers/datasets.ts";
import { countRows, startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;
let irisId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  irisId = (await uploadCsv(server.url, "iris", await irisCsv())).id;
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

async function trainAndWait(body: unknown): Promise<{ accepted: TrainAccepted; job: Job }> {
  const response = await server.http.post<TrainAccepted>("/train", body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  const job = await waitForJob(server.http, response.body.jobId, undefined, 60_000);
  expect(job.status, JSON.stringify(job)).toBe("succeeded");
  return { accepted: response.body, job };
}

/** A 400 with these field paths, and not a row written. */
async function refused(body: unknown, paths: string[]): Promise<Problem> {
  const before = await countRows(db.pool);
  const response = await server.http.post<Problem>("/train", body);
  expect(response.status, JSON.stringify(response.body)).toBe(400);
  expect(response.headers.get("content-type")).toMatch(/application\/problem\+json/);
  expect(response.body.errors?.map((e) => e.path)).toEqual(paths);
  expect(await countRows(db.pool)).toEqual(before);
  return response.body;
}

async function weightsOf(model: string, version: number): Promise<Buffer> {
  const { rows } = await db.pool.query<{ weights: Buffer }>(
    `SELECT v.weights FROM model_versions v JOIN models m ON m.id = v.model_id
      WHERE m.name = $1 AND v.version = $2`,
    [model, version],
  );
  return rows[0]!.weights;
}

// Two interleaved spirals' worth of points: enough rows for several batches an epoch.
const INPUTS = Array.from({ length: 96 }, (_, i) => [
  Math.cos(i * 0.37) * (i / 40),
  Math.sin(i * 0.37) * (i / 40),
]);
const LABELS = INPUTS.map(([x, y]) => (x! * y! > 0 ? 1 : 0));

function inline(model: string, epochs: number, extra: Record<string, unknown> = {}) {
  return {
    model,
    network: {
      inputs: 2,
      inputDropout: 0.05,
      layers: [
        { units: 12, activation: "relu", dropout: 0.2 },
        { units: 2, activation: "softmax" },
      ],
    },
    loss: "sparseCategoricalCrossentropy",
    optimizer: { name: "adamw", learningRate: 0.01, weightDecay: 0.01 },
    training: { epochs, batchSize: 16, seed: 7, labelSmoothing: 0.1, classWeights: "balanced" },
    data: { inputs: INPUTS, labels: LABELS },
    ...extra,
  };
}

describe("warm start", () => {
  it("10 epochs, then 10 more from the stored version, equal 20 in one job, bit for bit", async () => {
    await trainAndWait(inline("whole", 20));
    await trainAndWait(inline("parts", 10));
    const { job } = await trainAndWait(
      inline("parts", 10, { from: { model: "parts", version: 1 } }),
    );
    expect(job.progress).toEqual({ epoch: 10, epochs: 10 });
    const whole = await weightsOf("whole", 1);
    const continued = await weightsOf("parts", 2);
    expect(continued.length).toBe(whole.length);
    expect(continued.equals(whole)).toBe(true);
    // The first half alone is not there yet: the test can tell.
    expect((await weightsOf("parts", 1)).equals(whole)).toBe(false);

    const model = (await server.http.get<Model>("/models/parts")).body;
    expect(model.versions[1]!.training).toMatchObject({
      epochs: 10,
      epochsRun: 10,
      stoppedEarly: false,
      bestEpoch: null,
      from: { model: "parts", version: 1, initialEpoch: 10, optimizerStateRestored: true },
    });
    expect(model.versions[1]!.network.layers[0]).toMatchObject({ units: 12, dropout: 0.2 });
    expect(model.versions[1]!.network.inputDropout).toBe(0.05);
  });

  it("without the stored optimizer state, continues from the weights but not exactly", async () => {
    await trainAndWait(
      inline("nostate", 10, {
        training: {
          epochs: 10,
          batchSize: 16,
          seed: 7,
          labelSmoothing: 0.1,
          classWeights: "balanced",
          storeOptimizerState: false,
        },
      }),
    );
    await trainAndWait(inline("nostate", 10, { from: { model: "nostate", version: 1 } }));
    const model = (await server.http.get<Model>("/models/nostate")).body;
    expect(model.versions[1]!.training.from).toMatchObject({ optimizerStateRestored: false });
    expect((await weightsOf("nostate", 2)).equals(await weightsOf("whole", 1))).toBe(false);
  });

  it("refuses a source with another architecture or no preprocessing match, writing nothing", async () => {
    const wider = inline("parts", 5, { from: { model: "parts", version: 1 } });
    (wider.network.layers[0] as { units: number }).units = 16;
    const problem = await refused(wider, ["from"]);
    expect(problem.errors![0]!.message).toMatch(/another architecture/);

    await trainAndWait({
      model: "iris-src",
      dataset: irisId,
      target: "species",
      training: { epochs: 3, seed: 2 },
    });
    // The source's very architecture (its recipe), but inline numbers: no preprocessing match.
    const irisLike = {
      ...inline("parts", 5, { from: { model: "iris-src", version: 1 } }),
      network: {
        inputs: 4,
        layers: [
          { units: 64, activation: "relu" },
          { units: 64, activation: "relu" },
          { units: 3, activation: "softmax" },
        ],
      },
      data: {
        inputs: INPUTS.map(([x, y]) => [x!, y!, x! + y!, x! - y!]),
        labels: INPUTS.map((_, i) => i % 3),
      },
      training: { epochs: 5, batchSize: 16 },
    };
    const mismatch = await refused(irisLike, ["from"]);
    expect(mismatch.errors![0]!.message).toMatch(/no preprocessing match/);
    await refused(inline("parts", 5, { from: { model: "parts", version: 9 } }), ["from"]);
  });
});

describe("best-epoch reporting", () => {
  it("a run that stops early says so, and its progress reads complete", async () => {
    const { job } = await trainAndWait(
      inline("early", 200, {
        training: {
          epochs: 200,
          batchSize: 16,
          seed: 3,
          // No later epoch improves the loss by a million, so patience 2 ends it at epoch 3.
          earlyStopping: { monitor: "loss", patience: 2, minDelta: 1e6, restoreBestWeights: true },
        },
      }),
    );
    expect(job).toMatchObject({
      stoppedEarly: true,
      bestEpoch: 1,
      progress: { epoch: 3, epochs: 3 },
    });
    const model = (await server.http.get<Model>("/models/early")).body;
    expect(model.versions[0]!.training).toMatchObject({
      epochs: 200,
      epochsRun: 3,
      stoppedEarly: true,
      bestEpoch: 1,
    });
  });
});

describe("the default recipe", () => {
  it("trains Iris with no network at all, and scores well on its held-back rows", async () => {
    const { job } = await trainAndWait({
      model: "iris-auto",
      dataset: irisId,
      target: "species",
      network: "auto",
    });
    const model = (await server.http.get<Model>("/models/iris-auto")).body;
    const version = model.versions[0]!;
    expect(version.loss).toBe("sparseCategoricalCrossentropy");
    expect(version.network.layers.map((l) => [l.units, l.activation])).toEqual([
      [64, "relu"],
      [64, "relu"],
      [3, "softmax"],
    ]);
    expect(version.training.epochs).toBeGreaterThanOrEqual(20);
    expect(job.progress.epoch).toBeGreaterThan(0);
    const evaluation = version.evaluation!;
    if (evaluation.task !== "classification") throw new Error("classification expected");
    expect(evaluation.accuracy).toBeGreaterThanOrEqual(0.85);
  });

  it("refuses class weights naming an unknown label, and a warmup as long as the run", async () => {
    await refused(
      {
        model: "iris-bad",
        dataset: irisId,
        target: "species",
        training: { epochs: 5, classWeights: { setosa: 2, virginca: 3 } },
      },
      ["training.classWeights.virginca"],
    );
    await refused(
      {
        model: "iris-bad",
        dataset: irisId,
        target: "species",
        optimizer: { name: "adam", decay: { type: "cosine", unit: "steps", warmup: 20 } },
        training: { epochs: 5, batchSize: 32 },
      },
      ["optimizer.decay.warmup"],
    );
  });
});
