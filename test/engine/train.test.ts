import { describe, expect, it } from "vitest";
import {
  createNetwork,
  type EpochMetrics,
  saveNetwork,
  TrainingDivergedError,
  fit as train,
} from "../../src/engine/index.ts";
import { linearData, XOR } from "./helpers.ts";

const xorNet = (seed = 1) =>
  createNetwork(
    {
      inputs: 2,
      layers: [
        { units: 8, activation: "tanh" },
        { units: 1, activation: "sigmoid" },
      ],
    },
    { seed },
  );

describe("training by backpropagation", () => {
  it("learns XOR to 100% accuracy", async () => {
    const net = xorNet();
    const result = await train(net, XOR, {
      loss: "binaryCrossentropy",
      optimizer: { name: "adam", learningRate: 0.05 },
      epochs: 300,
      batchSize: 4,
    });
    expect(result.history.at(-1)?.accuracy).toBe(1);
    const out = net.predict(XOR.inputs, 4);
    expect(Array.from(out, (v) => (v > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);
    expect(net.evaluate(XOR, "binaryCrossentropy").accuracy).toBe(1);
  });

  it("learns a 3-class problem with softmax and one-hot targets", async () => {
    // Class = which of the three inputs is largest.
    const rows = 150;
    const inputs = new Float32Array(rows * 3).map((_, i) => Math.sin(i * 2.3));
    const targets = new Float32Array(rows * 3);
    for (let r = 0; r < rows; r++) {
      const row = inputs.subarray(r * 3, r * 3 + 3);
      targets[r * 3 + row.indexOf(Math.max(...row))] = 1;
    }
    const net = createNetwork({
      inputs: 3,
      layers: [
        { units: 16, activation: "relu" },
        { units: 3, activation: "softmax" },
      ],
    });
    const result = await train(
      net,
      { inputs, rows, targets },
      {
        loss: "categoricalCrossentropy",
        optimizer: { name: "adam", learningRate: 0.02 },
        epochs: 60,
        batchSize: 16,
      },
    );
    expect(result.history[0]!.loss).toBeGreaterThan(result.history.at(-1)!.loss);
    expect(result.history.at(-1)!.accuracy).toBeGreaterThan(0.9);
  });

  it("is bit-for-bit deterministic for the same seeds", async () => {
    const run = async () => {
      const net = xorNet(7);
      const r = await train(net, linearData(64), {
        loss: "mse",
        optimizer: { name: "momentum", learningRate: 0.05, nesterov: true },
        epochs: 5,
        batchSize: 8,
        seed: 42,
      });
      return { weights: saveNetwork(net).weights, losses: r.history.map((h) => h.loss) };
    };
    const netA = xorNet(7);
    const netB = xorNet(7);
    expect(saveNetwork(netA).weights).toEqual(saveNetwork(netB).weights);
    const a = await run();
    const b = await run();
    expect(b.weights).toEqual(a.weights);
    expect(b.losses).toEqual(a.losses);
  });

  it("gives different initial weights and batches for different seeds", async () => {
    expect(saveNetwork(xorNet(1)).weights).not.toEqual(saveNetwork(xorNet(2)).weights);
    const losses = async (seed: number) =>
      (
        await train(xorNet(1), linearData(64), {
          loss: "mse",
          optimizer: { name: "sgd" },
          epochs: 2,
          batchSize: 8,
          seed,
        })
      ).history.map((h) => h.loss);
    expect(await losses(1)).not.toEqual(await losses(2));
  });

  it("reports the metrics of every epoch, with validation from a split", async () => {
    const epochs: EpochMetrics[] = [];
    const result = await train(xorNet(), linearData(100), {
      loss: "mse",
      optimizer: {
        name: "sgd",
        learningRate: 0.1,
        decay: { type: "step", rate: 0.5, everyEpochs: 2 },
      },
      epochs: 4,
      batchSize: 10,
      validationSplit: 0.2,
      onEpoch: async (m) => {
        await Promise.resolve();
        epochs.push(m);
      },
    });
    expect(result.history).toEqual(epochs);
    expect(result.epochsRun).toBe(4);
    expect(result.cancelled).toBe(false);
    expect(result.stoppedEarly).toBe(false);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect(epochs.map((e) => e.learningRate)).toEqual([0.1, 0.1, 0.05, 0.05]);
    for (const e of epochs) {
      expect(e.epochs).toBe(4);
      expect(Number.isFinite(e.loss) && Number.isFinite(e.valLoss!)).toBe(true);
      expect(e.mae).toBeGreaterThan(0);
      expect(e.valMae).toBeGreaterThan(0);
      expect(e.accuracy).toBeUndefined();
      expect(e.durationMs).toBeGreaterThanOrEqual(0);
    }
  });

  it("validates on the last rows of the data when splitting (Keras' convention)", async () => {
    const data = linearData(10);
    const net = xorNet();
    const result = await train(net, data, {
      loss: "mse",
      optimizer: { name: "sgd", learningRate: 1e-9 },
      epochs: 1,
      batchSize: 10,
      validationSplit: 0.3,
    });
    const last3 = {
      inputs: data.inputs.subarray(14),
      rows: 3,
      targets: data.targets.subarray(7),
    };
    expect(result.history[0]!.valLoss).toBeCloseTo(net.evaluate(last3, "mse").loss, 6);
  });

  it("reports exponential learning-rate decay per epoch", async () => {
    const result = await train(xorNet(), linearData(16), {
      loss: "mse",
      optimizer: { name: "sgd", learningRate: 0.1, decay: { type: "exponential", rate: 0.5 } },
      epochs: 3,
      batchSize: 16,
    });
    expect(result.history.map((h) => h.learningRate)).toEqual([0.1, 0.05, 0.025]);
  });

  it("calls onBatch every batchProgressEvery batches and at the end of an epoch", async () => {
    const seen: string[] = [];
    await train(xorNet(), linearData(50), {
      loss: "mse",
      optimizer: { name: "sgd" },
      epochs: 2,
      batchSize: 10,
      batchProgressEvery: 2,
      onBatch: (p) => {
        seen.push(`${p.epoch}:${p.batch}/${p.batches}`);
        expect(Number.isFinite(p.loss)).toBe(true);
      },
    });
    expect(seen).toEqual(["1:2/5", "1:4/5", "1:5/5", "2:2/5", "2:4/5", "2:5/5"]);
  });
});

describe("early stopping", () => {
  it("stops after `patience` epochs without improvement and restores the best weights", async () => {
    const data = linearData(64);
    const net = xorNet();
    let bestWeights: Uint8Array | undefined;
    let bestLoss = Number.POSITIVE_INFINITY;
    // A learning rate this large makes the validation loss worse after the first epochs.
    const result = await train(net, data, {
      loss: "mse",
      optimizer: { name: "sgd", learningRate: 0.9 },
      epochs: 50,
      batchSize: 4,
      validationData: data,
      earlyStopping: { patience: 2, restoreBestWeights: true },
      onEpoch: (m) => {
        if (m.valLoss! < bestLoss) {
          bestLoss = m.valLoss!;
          bestWeights = saveNetwork(net).weights;
        }
      },
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.restoredBestWeights).toBe(true);
    expect(result.epochsRun).toBeLessThan(50);
    expect(result.bestEpoch).toBe(result.epochsRun - 2);
    const best = result.history[result.bestEpoch! - 1]!.valLoss!;
    expect(best).toBe(Math.min(...result.history.map((h) => h.valLoss!)));
    expect(saveNetwork(net).weights).toEqual(bestWeights);
    expect(net.evaluate(data, "mse").loss).toBeCloseTo(best, 5);
  });

  it("keeps the last weights when restoreBestWeights is off", async () => {
    const data = linearData(64);
    const net = xorNet();
    const result = await train(net, data, {
      loss: "mse",
      optimizer: { name: "sgd", learningRate: 0.9 },
      epochs: 50,
      batchSize: 4,
      validationData: data,
      earlyStopping: { patience: 2 },
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.restoredBestWeights).toBe(false);
    expect(net.evaluate(data, "mse").loss).toBeCloseTo(result.history.at(-1)!.valLoss!, 5);
  });

  it("treats an improvement below minDelta as none", async () => {
    const result = await train(xorNet(), linearData(32), {
      loss: "mse",
      optimizer: { name: "sgd", learningRate: 0.01 },
      epochs: 10,
      batchSize: 8,
      earlyStopping: { monitor: "loss", patience: 1, minDelta: 100 },
    });
    expect(result.bestEpoch).toBe(1);
    expect(result.epochsRun).toBe(2);
    expect(result.stoppedEarly).toBe(true);
  });

  it("watches accuracy upwards", async () => {
    const result = await train(xorNet(), XOR, {
      loss: "binaryCrossentropy",
      optimizer: { name: "adam", learningRate: 0.05 },
      epochs: 500,
      batchSize: 4,
      earlyStopping: { monitor: "accuracy", patience: 20 },
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.history[result.bestEpoch! - 1]!.accuracy).toBe(1);
  });
});

describe("cancellation and divergence", () => {
  it("stops between batches when the signal aborts, keeping the finished epochs", async () => {
    const controller = new AbortController();
    const net = xorNet();
    const result = await train(net, linearData(400), {
      loss: "mse",
      optimizer: { name: "sgd" },
      epochs: 100,
      batchSize: 4,
      batchProgressEvery: 1,
      onBatch: (p) => {
        if (p.epoch === 3 && p.batch === 7) controller.abort();
      },
      signal: controller.signal,
    });
    expect(result.cancelled).toBe(true);
    expect(result.epochsRun).toBe(2);
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(result.stoppedEarly).toBe(false);
    expect(Number.isFinite(net.predict(new Float32Array([0.5, 0.5]), 1)[0]!)).toBe(true);
  });

  it("keeps the weights reached, not the best ones, when cancelled with restoreBestWeights", async () => {
    const controller = new AbortController();
    const data = linearData(64);
    const net = xorNet();
    let reached: Uint8Array | undefined;
    const result = await train(net, data, {
      loss: "mse",
      optimizer: { name: "sgd", learningRate: 0.9 },
      epochs: 50,
      batchSize: 4,
      validationData: data,
      earlyStopping: { patience: 100, restoreBestWeights: true },
      onEpoch: (m) => {
        if (m.epoch === 6) {
          controller.abort();
          reached = saveNetwork(net).weights;
        }
      },
      signal: controller.signal,
    });
    expect(result.cancelled).toBe(true);
    expect(result.restoredBestWeights).toBe(false);
    expect(result.epochsRun).toBe(6);
    expect(saveNetwork(net).weights).toEqual(reached);
  });

  it("yields to the event loop, so an abort sent from a timer gets through", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const started = performance.now();
    const result = await train(xorNet(), linearData(2000), {
      loss: "mse",
      optimizer: { name: "adam" },
      epochs: 100_000,
      batchSize: 1,
      signal: controller.signal,
    });
    expect(result.cancelled).toBe(true);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("does nothing when the signal is already aborted", async () => {
    const result = await train(xorNet(), XOR, {
      loss: "mse",
      optimizer: { name: "sgd" },
      epochs: 3,
      batchSize: 2,
      signal: AbortSignal.abort(),
    });
    expect(result).toEqual({
      history: [],
      epochsRun: 0,
      stoppedEarly: false,
      cancelled: true,
      restoredBestWeights: false,
    });
  });

  it("throws TrainingDivergedError naming the epoch and batch when the loss blows up", async () => {
    const net = createNetwork({
      inputs: 2,
      layers: [
        { units: 8, activation: "relu" },
        { units: 1, activation: "linear" },
      ],
    });
    let error: unknown;
    try {
      await train(net, linearData(64), {
        loss: "mse",
        optimizer: { name: "sgd", learningRate: 1e6 },
        epochs: 3,
        batchSize: 8,
        shuffle: false,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TrainingDivergedError);
    const e = error as TrainingDivergedError;
    expect(e.message).toMatch(/epoch \d+, batch \d+/);
    expect(e.message).toContain(`epoch ${e.epoch}, batch ${e.batch}`);
    expect(e.epoch).toBe(1);
    expect(e.batch).toBeGreaterThanOrEqual(1);
    expect(e.batch).toBeLessThanOrEqual(8);
  });
});

describe("the perceptron rule (a single layer of step units)", () => {
  const inputs = new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]);
  for (const [name, targets] of [
    ["AND", [0, 0, 0, 1]],
    ["OR", [0, 1, 1, 1]],
  ] as const) {
    it(`learns ${name}`, async () => {
      const net = createNetwork({ inputs: 2, layers: [{ units: 1, activation: "step" }] });
      const data = { inputs, rows: 4, targets: new Float32Array(targets) };
      const result = await train(net, data, {
        loss: "mse",
        optimizer: { name: "sgd", learningRate: 0.1 },
        epochs: 50,
        batchSize: 1,
      });
      expect(Array.from(net.predict(inputs, 4))).toEqual([...targets]);
      expect(result.history.at(-1)!.loss).toBe(0);
      expect(result.history.at(-1)!.accuracy).toBe(1);
    });
  }

  it("applies w += lr·(t − y)·x on a misclassified sample", async () => {
    const net = createNetwork({ inputs: 2, layers: [{ units: 1, activation: "step" }] });
    net.setWeights([new Float32Array([0.5, -0.5]), new Float32Array([0])]);
    // x = [1, 2]: z = 0.5 − 1 = −0.5 → y = 0, t = 1: w += 0.25·[1, 2], b += 0.25.
    await train(
      net,
      { inputs: new Float32Array([1, 2]), rows: 1, targets: new Float32Array([1]) },
      {
        loss: "mse",
        optimizer: { name: "sgd", learningRate: 0.25 },
        epochs: 1,
        batchSize: 1,
      },
    );
    expect(net.getWeights().map((w) => Array.from(w))).toEqual([[0.75, 0], [0.25]]);
  });

  it("rejects targets other than 0 and 1", async () => {
    const net = createNetwork({ inputs: 2, layers: [{ units: 1, activation: "step" }] });
    await expect(
      train(
        net,
        { inputs, rows: 4, targets: new Float32Array([0, 0.5, 0, 1]) },
        {
          loss: "mse",
          optimizer: { name: "sgd" },
          epochs: 1,
          batchSize: 1,
        },
      ),
    ).rejects.toThrow(/data\.targets\[1\]\[0\]: must be 0 or 1/);
  });
});
