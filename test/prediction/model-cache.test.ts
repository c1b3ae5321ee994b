/**
 * The model cache on Postgres: versions stored as a finished job stores them, loaded through
 * loadModel with a counter around it, many callers at once.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createNetwork, type NetworkSpec, saveNetwork } from "../../src/engine/index.ts";
import { isAppError } from "../../src/platform/errors.ts";
import { type LoadedModel, loadModel, ModelCache } from "../../src/prediction/model-cache.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { storedTraining } from "../helpers/stored-rows.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());
beforeEach(async () => {
  await db.pool.query("TRUNCATE models CASCADE");
});

const NETWORK: NetworkSpec = {
  inputs: 2,
  layers: [
    { units: 4, activation: "tanh" },
    { units: 1, activation: "sigmoid" },
  ],
};

/** A version of a new model, ready with the weights of a freshly initialised network, or not. */
async function storeVersion(name: string, { ready = true } = {}) {
  const saved = saveNetwork(createNetwork(NETWORK, { seed: 1 }));
  const model = await db.prisma.model.create({ data: { name } });
  const version = await db.prisma.modelVersion.create({
    data: {
      modelId: model.id,
      version: 1,
      architecture: saved.architecture as object,
      training: storedTraining("binaryCrossentropy"),
      weights: ready ? Buffer.from(saved.weights) : null,
      status: ready ? "ready" : "training",
    },
  });
  return { id: version.id, saved };
}

/** loadModel on the test database, counting its calls. */
function countingLoad() {
  let loads = 0;
  const load = (versionId: string) => {
    loads++;
    return loadModel(db, versionId);
  };
  return { load, loads: () => loads };
}

describe("ModelCache.getOrLoad", () => {
  it("loads a cold version once for 20 concurrent callers, and serves it from memory after", async () => {
    const { id, saved } = await storeVersion("cold");
    const cache = new ModelCache(4);
    const { load, loads } = countingLoad();

    const results = await Promise.all(Array.from({ length: 20 }, () => cache.getOrLoad(id, load)));

    expect(loads()).toBe(1);
    expect(new Set(results).size).toBe(1);
    const [loaded] = results as [LoadedModel];
    expect(loaded).toMatchObject({ versionId: id, model: "cold", version: 1, classes: "binary" });
    expect(Buffer.from(loaded.weights)).toEqual(Buffer.from(saved.weights));
    expect(Array.from(loaded.network.predict(new Float32Array([0, 1]), 1))).toHaveLength(1);
    expect(cache.size).toBe(1);

    expect(await cache.getOrLoad(id, load)).toBe(loaded);
    expect(loads()).toBe(1);
  });

  it("loads each version once when callers ask for several at once", async () => {
    const a = await storeVersion("a");
    const b = await storeVersion("b");
    const cache = new ModelCache(4);
    const { load, loads } = countingLoad();

    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => cache.getOrLoad(i % 2 ? a.id : b.id, load)),
    );

    expect(loads()).toBe(2);
    expect(new Set(results.map((r) => r.model))).toEqual(new Set(["a", "b"]));
  });

  it("rejects every caller of a failed load, keeps nothing, and loads again on the next call", async () => {
    const { id, saved } = await storeVersion("late", { ready: false });
    const cache = new ModelCache(4);
    const { load, loads } = countingLoad();

    const settled = await Promise.allSettled(
      Array.from({ length: 10 }, () => cache.getOrLoad(id, load)),
    );

    expect(loads()).toBe(1);
    expect(settled.every((s) => s.status === "rejected")).toBe(true);
    const reasons = new Set(settled.map((s) => (s.status === "rejected" ? s.reason : undefined)));
    expect(reasons.size).toBe(1);
    const [reason] = reasons;
    expect(isAppError(reason) && reason.code).toBe("CONFLICT");
    expect(cache.size).toBe(0);

    // The training ends; the next prediction loads the version afresh.
    await db.prisma.modelVersion.update({
      where: { id },
      data: { status: "ready", weights: Buffer.from(saved.weights) },
    });
    const loaded = await cache.getOrLoad(id, load);
    expect(loads()).toBe(2);
    expect(loaded).toMatchObject({ versionId: id, model: "late" });
    expect(cache.size).toBe(1);
  });

  it("shares a load even when it keeps nothing (capacity 0)", async () => {
    const { id } = await storeVersion("uncached");
    const cache = new ModelCache(0);
    const { load, loads } = countingLoad();

    await Promise.all(Array.from({ length: 5 }, () => cache.getOrLoad(id, load)));
    expect(loads()).toBe(1);
    await cache.getOrLoad(id, load);
    expect(loads()).toBe(2);
  });

  it("does not keep a load that ended after its model was dropped", async () => {
    const { id } = await storeVersion("deleted");
    const cache = new ModelCache(4);
    const { load, loads } = countingLoad();

    const loading = cache.getOrLoad(id, load);
    cache.dropModel("deleted");
    expect(await loading).toMatchObject({ versionId: id });

    expect(cache.size).toBe(0);
    await cache.getOrLoad(id, load);
    expect(loads()).toBe(2);
  });
});
