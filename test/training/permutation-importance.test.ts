/**
 * Permutation importance on the test split: a model trained on a dataset with one planted
 * informative feature (the class is its sign) and two noise features ranks the informative
 * one first, with a large accuracy drop; a categorical feature's one-hot columns move together.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../src/engine/index.ts";
import { permutationImportance } from "../../src/training/permutation-importance.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import type { Preprocessing } from "../../src/versions/preprocessing/schema.ts";
import type { Model } from "../../src/versions/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { uploadCsv } from "../helpers/datasets.ts";
import { startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";

describe("permutationImportance", () => {
  it("moves a categorical feature's one-hot columns together and keeps every other column", async () => {
    const preprocessing: Preprocessing = {
      formatVersion: 1,
      features: [
        { name: "a", type: "numeric", scaling: "none", center: 0, scale: 1 },
        { name: "c", type: "categorical", categories: ["x", "y"], unknown: "error" },
      ],
      target: { name: "t", type: "numeric", center: 0, scale: 1 },
    };
    // Rows [a, c=x, c=y]: a = row index, one-hot alternating.
    const inputs = Float32Array.from([0, 1, 0, 1, 0, 1, 2, 1, 0, 3, 0, 1]);
    const seen: Float32Array[] = [];
    await permutationImportance(preprocessing, inputs, 4, 0, async (x) => {
      seen.push(Float32Array.from(x));
      return 0;
    });
    expect(seen).toHaveLength(6);
    for (const x of seen.slice(3)) {
      // The feature c shuffled: a stays, each row's one-hot is still exactly one of the two.
      expect([x[0], x[3], x[6], x[9]]).toEqual([0, 1, 2, 3]);
      for (let r = 0; r < 4; r++) expect(x[r * 3 + 1]! + x[r * 3 + 2]!).toBe(1);
    }
  });
});

describe("evaluation of a version trained from a dataset", () => {
  let db: TestDatabase;
  let server: TestServer;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startTestServer({ databaseUrl: db.url });
  });

  afterAll(async () => {
    await server?.close();
    await db?.close();
  });

  it("ranks the planted informative feature first", async () => {
    const random = new Random(9);
    const lines = ["noise1,signal,colour,label"];
    for (let i = 0; i < 300; i++) {
      const signal = random.normal();
      lines.push(
        `${random.normal().toFixed(4)},${signal.toFixed(4)},${["red", "blue", "green"][random.below(3)]},${signal > 0 ? "pos" : "neg"}`,
      );
    }
    const dataset = await uploadCsv(server.url, "planted", lines.join("\n"));
    const accepted = await server.http.post<TrainAccepted>("/train", {
      model: "planted",
      dataset: dataset.id,
      target: "label",
      network: {
        layers: [
          { units: 8, activation: "relu" },
          { units: 2, activation: "softmax" },
        ],
      },
      loss: "sparseCategoricalCrossentropy",
      optimizer: { name: "adam", learningRate: 0.03 },
      training: { epochs: 40, batchSize: 32, seed: 2, testSplit: 0.3 },
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");
    const model = await server.http.get<Model>("/models/planted");
    const evaluation = model.body.versions[0]!.evaluation!;
    expect(evaluation.task).toBe("classification");
    const importance = evaluation.permutationImportance!;
    expect(importance.map((i) => i.feature).sort()).toEqual(["colour", "noise1", "signal"]);
    expect(importance[0]!.feature).toBe("signal");
    expect(importance[0]!.importance).toBeGreaterThan(0.2);
    for (const other of importance.slice(1)) expect(Math.abs(other.importance)).toBeLessThan(0.1);
  });
});
