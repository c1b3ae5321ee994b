/**
 * Prediction and the model registry on Postgres with a real worker pool: versions are stored
 * the way a finished job stores them (weights saved by the engine), then resolved, cached,
 * run inline or in the pool, deleted and replaced behind the service's back.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import type { LossName } from "../../src/engine/index.ts";
import {
  createNetwork,
  type NetworkSpec,
  saveNetwork,
  fit as train,
} from "../../src/engine/index.ts";
import { isAppError } from "../../src/platform/errors.ts";
import { DomainEvents } from "../../src/platform/events.ts";
import { createWorkerPool, type WorkerPool } from "../../src/platform/threads/pool.ts";
import { ModelCache } from "../../src/prediction/model-cache.ts";
import { createPredictionService } from "../../src/prediction/service.ts";
import type { ModelRegistry, PredictionService } from "../../src/transport/services.ts";
import { createModelRegistry } from "../../src/versions/registry.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { XOR_INPUTS } from "../helpers/requests.ts";
import { storedTraining } from "../helpers/stored-rows.ts";
import { XOR_LABELS } from "../helpers/xor.ts";

let db: TestDatabase;
let pool: WorkerPool;
let cache: ModelCache;
let prediction: PredictionService;
let registry: ModelRegistry;
const deleted: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createWorkerPool({ trainingThreads: 1, predictionThreads: 1 });
  cache = new ModelCache(4);
  // Every lookup asks the database (resolveTtlMs 0), as before lookups were reused; rows
  // beyond 2 run in the pool.
  prediction = createPredictionService({ db, pool, cache, inlineMaxRows: 2 });
  const events = new DomainEvents();
  events.on("modelDeleted", ({ model }) => {
    deleted.push(model);
    cache.dropModel(model);
  });
  registry = createModelRegistry({ db, events });
});

afterAll(async () => {
  await pool?.close();
  await db?.close();
});

const XOR_NETWORK: NetworkSpec = {
  inputs: 2,
  layers: [
    { units: 8, activation: "tanh" },
    { units: 1, activation: "sigmoid" },
  ],
};

/** Trains a truth table on the four corners in this thread, as a worker would. */
async function trained(targets: number[]) {
  const network = createNetwork(XOR_NETWORK, { seed: 1 });
  await train(
    network,
    { rows: 4, inputs: Float32Array.from(XOR_INPUTS.flat()), targets: Float32Array.from(targets) },
    {
      loss: "binaryCrossentropy",
      optimizer: { name: "adam", learningRate: 0.1 },
      epochs: 80,
      batchSize: 4,
    },
  );
  return saveNetwork(network);
}

/** Stores a version as a job that finished would (status, weights); creates the model if new. */
async function storeVersion(
  name: string,
  saved: { architecture: object; weights: Uint8Array } | null,
  { loss = "binaryCrossentropy" as LossName, status = "ready" as const } = {},
) {
  const model = await db.prisma.model.upsert({ where: { name }, create: { name }, update: {} });
  const latest = await db.prisma.modelVersion.aggregate({
    where: { modelId: model.id },
    _max: { version: true },
  });
  const version = await db.prisma.modelVersion.create({
    data: {
      modelId: model.id,
      version: (latest._max.version ?? 0) + 1,
      architecture: (saved?.architecture ?? { inputs: 2, layers: XOR_NETWORK.layers }) as object,
      training: storedTraining(loss),
      weights: saved ? Buffer.from(saved.weights) : null,
      status: saved ? status : "pending",
    },
  });
  await db.prisma.trainingJob.create({ data: { versionId: version.id, epochs: 1 } });
  return version.version;
}

async function expectAppError(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAppError(error), String(error)).toBe(true);
  if (!isAppError(error)) return undefined;
  expect(error.code).toBe(code);
  return error;
}

const XOR = XOR_LABELS;
const XNOR = [1, 0, 0, 1];

describe("prediction", () => {
  it("gives the same outputs inline and in the worker pool, with classes for a sigmoid", async () => {
    await storeVersion("xor", await trained(XOR));
    const pooled = await prediction.predict({ model: "xor", inputs: XOR_INPUTS });
    expect(pooled).toMatchObject({ model: "xor", version: 1, classes: XOR });
    const inline = [];
    for (const row of XOR_INPUTS) {
      inline.push(...(await prediction.predict({ model: "xor", inputs: [row] })).outputs);
    }
    expect(inline).toEqual(pooled.outputs);
  });

  it("uses the newest ready version unless asked, and skips versions still training", async () => {
    await storeVersion("versions", await trained(XOR));
    await storeVersion("versions", await trained(XNOR));
    await storeVersion("versions", null); // version 3: pending
    expect(await prediction.predict({ model: "versions", inputs: XOR_INPUTS })).toMatchObject({
      version: 2,
      classes: XNOR,
    });
    expect(
      await prediction.predict({ model: "versions", version: 1, inputs: XOR_INPUTS }),
    ).toMatchObject({ version: 1, classes: XOR });
    await expectAppError(
      prediction.predict({ model: "versions", version: 3, inputs: XOR_INPUTS }),
      "CONFLICT",
    );
    await expectAppError(
      prediction.predict({ model: "versions", version: 4, inputs: XOR_INPUTS }),
      "NOT_FOUND",
    );
  });

  it("answers a model with no ready version with a conflict, and an unknown one with not found", async () => {
    await storeVersion("untrained", null);
    await expectAppError(prediction.predict({ model: "untrained", inputs: [[0, 1]] }), "CONFLICT");
    await expectAppError(prediction.predict({ model: "unknown", inputs: [[0, 1]] }), "NOT_FOUND");
  });

  it("names each row of the wrong width, at most ten of them", async () => {
    const error = await expectAppError(
      prediction.predict({ model: "xor", inputs: Array.from({ length: 12 }, () => [1, 0, 1]) }),
      "VALIDATION_FAILED",
    );
    expect(error?.errors.map((e) => e.path)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `inputs[${i}]`),
      "inputs",
    ]);
    expect(error?.errors[0]?.message).toBe("has 3 values; the model takes 2");
  });

  it("sees a model deleted and trained again behind its back, never serving the cached weights", async () => {
    await storeVersion("replaced", await trained(XOR));
    expect((await prediction.predict({ model: "replaced", inputs: XOR_INPUTS })).classes).toEqual(
      XOR,
    );
    // Another replica deletes it and trains a new version 1: this process's cache is not told.
    await db.pool.query("DELETE FROM models WHERE name = 'replaced'");
    await expectAppError(prediction.predict({ model: "replaced", inputs: [[0, 1]] }), "NOT_FOUND");
    await storeVersion("replaced", await trained(XNOR));
    expect(await prediction.predict({ model: "replaced", inputs: XOR_INPUTS })).toMatchObject({
      version: 1,
      classes: XNOR,
    });
    expect(
      (await prediction.predict({ model: "replaced", inputs: [[1, 1]], version: 1 })).classes,
    ).toEqual([1]);
  });

  it("reports classes only for classifiers: softmax argmax, none for a regression", async () => {
    const softmax = createNetwork(
      {
        inputs: 2,
        layers: [{ units: 3, activation: "softmax" }],
      },
      { seed: 2 },
    );
    await storeVersion("three-way", saveNetwork(softmax), {
      loss: "sparseCategoricalCrossentropy",
    });
    const three = await prediction.predict({ model: "three-way", inputs: XOR_INPUTS });
    three.outputs.forEach((row, i) => {
      expect(three.classes![i]).toBe(row.indexOf(Math.max(...row)));
    });

    const linear = createNetwork({ inputs: 2, layers: [{ units: 1, activation: "linear" }] });
    await storeVersion("regression", saveNetwork(linear), { loss: "mse" });
    const regression = await prediction.predict({ model: "regression", inputs: [[1, 2]] });
    expect(regression.classes).toBeUndefined();
    expect(regression.outputs[0]).toHaveLength(1);
  });
});

describe("model registry", () => {
  it("lists each model with its newest ready version and its version count", async () => {
    const { items } = await registry.list();
    const versions = items.find((m) => m.name === "versions");
    expect(versions).toMatchObject({ latestVersion: 2, versionCount: 3 });
    expect(items.find((m) => m.name === "untrained")).toMatchObject({
      latestVersion: null,
      versionCount: 1,
    });
    expect(items.map((m) => m.name)).toEqual([...items.map((m) => m.name)].sort());

    const model = await registry.get("versions");
    expect(model.versions.map((v) => [v.version, v.status])).toEqual([
      [1, "ready"],
      [2, "ready"],
      [3, "pending"],
    ]);
    expect(model.versions[0]).toMatchObject({ parameters: 33, loss: "binaryCrossentropy" });
  });

  it("deletes a model with everything under it, tells the cache, and then knows it no more", async () => {
    await prediction.predict({ model: "xor", inputs: [[0, 1]] });
    const before = cache.size;
    await registry.delete("xor");
    expect(deleted).toContain("xor");
    expect(cache.size).toBeLessThan(before);
    const { rows } = await db.pool.query(
      `SELECT (SELECT count(*)::int FROM models WHERE name = 'xor') AS models,
              (SELECT count(*)::int FROM model_versions v
                 WHERE NOT EXISTS (SELECT 1 FROM models m WHERE m.id = v.model_id)) AS orphans`,
    );
    expect(rows).toEqual([{ models: 0, orphans: 0 }]);
    await expectAppError(registry.get("xor"), "NOT_FOUND");
    await expectAppError(registry.delete("xor"), "NOT_FOUND");
    await expectAppError(prediction.predict({ model: "xor", inputs: [[0, 1]] }), "NOT_FOUND");
  });
});

describe("name lookups", () => {
  /** A prediction service whose database counts the name -> version queries it is asked. */
  function countedService(resolveTtlMs: number) {
    let queries = 0;
    // The resolver reads a model's routing (versions, aliases, split) in one findUnique.
    const delegate = db.prisma.model;
    const model = new Proxy(delegate, {
      get(target, prop, receiver) {
        if (prop === "findUnique") {
          return (...args: Parameters<typeof delegate.findUnique>) => {
            queries++;
            return delegate.findUnique(...args);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const prisma = new Proxy(db.prisma, {
      get: (target, prop, receiver) =>
        prop === "model" ? model : Reflect.get(target, prop, receiver),
    });
    const service = createPredictionService({
      db: { ...db, prisma } as typeof db,
      pool,
      cache: new ModelCache(4),
      inlineMaxRows: 2,
      resolveTtlMs,
    });
    return { service, queries: () => queries };
  }

  it("makes one query for concurrent requests that find no lookup to reuse", async () => {
    await storeVersion("herd", await trained(XOR));
    const { service, queries } = countedService(0);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => service.predict({ model: "herd", inputs: [[0, 1]] })),
    );
    expect(answers.map((a) => a.classes![0])).toEqual(Array(20).fill(1));
    expect(queries()).toBe(1);
    // Without a lookup time to live, the next request asks again.
    await service.predict({ model: "herd", inputs: [[0, 1]] });
    expect(queries()).toBe(2);
  });

  it("past the lookup's time, answers with the version known while it asks again in the background", async () => {
    await storeVersion("stale", await trained(XOR));
    // A controllable clock: the lookup's time to live runs on performance.now(), faked here
    // alone (timers stay real for Postgres and the pool), and moved past it, not waited out.
    vi.useFakeTimers({ toFake: ["performance"] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const { service, queries } = countedService(40);
    expect((await service.predict({ model: "stale", inputs: [[0, 1]] })).version).toBe(1);
    expect(queries()).toBe(1);
    vi.advanceTimersByTime(60);

    // Another replica deletes the model: this one is not told.
    await db.prisma.model.delete({ where: { name: "stale" } });
    // The request past the time gets the version it knew, and starts one query for all.
    const during = await Promise.all(
      Array.from({ length: 5 }, () => service.predict({ model: "stale", inputs: [[0, 1]] })),
    );
    expect(during.map((a) => a.version)).toEqual([1, 1, 1, 1, 1]);
    expect(queries()).toBe(2);
    // Once that query has answered, the deletion is seen.
    await expect
      .poll(async () => {
        const error = await service.predict({ model: "stale", inputs: [[0, 1]] }).then(
          () => undefined,
          (e: unknown) => e,
        );
        return isAppError(error) ? error.code : "answered";
      })
      .toBe("NOT_FOUND");
  });
});
