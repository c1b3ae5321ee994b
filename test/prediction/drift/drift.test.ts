/**
 * Drift of live inputs against the training data, on an in-process server and a real
 * database: PSI near 0 for rows drawn from the training distribution, above 0.2 for a shifted
 * numeric feature and for a categorical one with unseen categories (their share reported);
 * the Prometheus gauge; a window that cannot be parsed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../../src/engine/index.ts";
import type { Problem } from "../../../src/platform/validation/problem.ts";
import { psi } from "../../../src/prediction/drift/psi.ts";
import type { DriftReport } from "../../../src/prediction/drift/service.ts";
import type { TrainAccepted } from "../../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { uploadCsv } from "../../helpers/datasets.ts";
import { startTestServer, type TestServer, waitForJob } from "../../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

const COLOURS = ["red", "red", "blue", "green"];

function draw(random: Random, shift = 0, unseen = 0) {
  const x = random.normal() + shift;
  return {
    x,
    z: 5 + 2 * random.normal(),
    colour: random.uniform() < unseen ? "purple" : COLOURS[random.below(4)]!,
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    env: { DRIFT_SAMPLE_RATE: "1", METRICS: "true" },
  });
  const random = new Random(4);
  const lines = ["x,z,colour,y"];
  for (let i = 0; i < 1500; i++) {
    const { x, z, colour } = draw(random);
    lines.push(`${x.toFixed(5)},${z.toFixed(5)},${colour},${x > 0 ? "a" : "b"}`);
  }
  const dataset = await uploadCsv(server.url, "drift", lines.join("\n"));
  const accepted = await server.http.post<TrainAccepted>("/train", {
    model: "drift",
    dataset: dataset.id,
    target: "y",
    network: {
      layers: [
        { units: 4, activation: "relu" },
        { units: 2, activation: "softmax" },
      ],
    },
    loss: "sparseCategoricalCrossentropy",
    training: { epochs: 2, batchSize: 64, seed: 1 },
    preprocessing: { unknown: "zeros" },
  });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

const report = async (window = "1h") => {
  const response = await server.http.get<DriftReport>(
    `/models/drift/versions/1/drift?window=${window}`,
  );
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
};
const byName = (r: DriftReport) => Object.fromEntries(r.features.map((f) => [f.feature, f]));

describe("psi", () => {
  it("is 0 for the same distribution and grows with the shift", () => {
    expect(psi([0.5, 0.5], [50, 50])).toBe(0);
    expect(psi([0.5, 0.5], [60, 40])).toBeCloseTo(0.1 * Math.log(1.5), 9);
    expect(psi([0.5, 0.5, 0], [40, 40, 20])).toBeGreaterThan(0.2);
  });
});

describe("GET /models/{name}/versions/{v}/drift", () => {
  it("finds no drift in rows drawn from the training distribution, then a shifted feature", async () => {
    const random = new Random(77);
    const fresh = Array.from({ length: 2000 }, () => draw(random));
    expect((await server.http.post("/predict", { model: "drift", inputs: fresh })).status).toBe(
      200,
    );
    const calm = await report();
    expect(calm.rows).toBe(2000);
    for (const f of calm.features) {
      expect(f.psi, f.feature).toBeLessThan(0.05);
      expect(f.drifted).toBe(false);
    }
    expect(byName(calm).colour!.unseenShare).toBe(0);
    expect(byName(calm).x!.bins).toHaveLength(10);
    // Training bins hold a tenth of the rows each.
    for (const bin of byName(calm).x!.bins) expect(bin.expected).toBeCloseTo(0.1, 2);

    const shifted = Array.from({ length: 8000 }, () => draw(random, 1.5, 0.4));
    expect((await server.http.post("/predict", { model: "drift", inputs: shifted })).status).toBe(
      200,
    );
    const moved = byName(await report());
    expect(moved.x!.psi).toBeGreaterThan(0.2);
    expect(moved.x!.drifted).toBe(true);
    expect(moved.z!.psi).toBeLessThan(0.05);
    expect(moved.colour!.psi).toBeGreaterThan(0.2);
    expect(moved.colour!.unseenShare).toBeGreaterThan(0.25);
    expect(moved.colour!.unseenShare).toBeLessThan(0.4);

    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text());
    const line = metrics
      .split("\n")
      .find((l) =>
        l.startsWith('nnserve_feature_drift_psi{model="drift",version="1",feature="x"}'),
      );
    expect(line).toBeDefined();
    expect(Number(line!.split(" ").at(-1))).toBeCloseTo(moved.x!.psi, 6);
  });

  it("refuses a window that cannot be parsed, naming it", async () => {
    for (const window of ["1 hour", "0h", "45d", "-1h"]) {
      const response = await server.http.get<Problem>(
        `/models/drift/versions/1/drift?window=${encodeURIComponent(window)}`,
      );
      expect(response.status, window).toBe(400);
      expect(response.body.errors![0]!.path).toBe("window");
    }
    expect((await server.http.get("/models/drift/versions/9/drift")).status).toBe(404);
  });
});
