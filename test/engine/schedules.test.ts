/** Learning-rate schedules against their formulas at chosen steps, and AdamW's decoupled decay. */
import { describe, expect, it } from "vitest";
import { createNetwork, fit as train } from "../../src/engine/index.ts";
import { Optimizer, resolveOptimizer } from "../../src/engine/optimizers.ts";
import { resolveSchedule, scheduledRate } from "../../src/engine/schedules.ts";
import { expectEngineErrorAsync, linearData } from "./helpers.ts";

const LR = 0.1;

describe("schedules", () => {
  it("cosine with warmup in epochs: linear ramp, then half a cosine down to the minimum", () => {
    const s = resolveSchedule({ type: "cosine", warmup: 4, minLearningRate: 0.01 }, "d");
    // t = epoch − 1, W = 4, T = 20
    expect(scheduledRate(LR, s, 1, 0, 7, 20)).toBeCloseTo(LR / 4, 12);
    expect(scheduledRate(LR, s, 4, 6, 7, 20)).toBeCloseTo(LR, 12);
    expect(scheduledRate(LR, s, 5, 0, 7, 20)).toBeCloseTo(LR, 12);
    // halfway through the cosine (t − W = 8 of 16): the mean of lr and the minimum
    expect(scheduledRate(LR, s, 13, 3, 7, 20)).toBeCloseTo((LR + 0.01) / 2, 12);
    const t = 19;
    expect(scheduledRate(LR, s, 20, 0, 7, 20)).toBeCloseTo(
      0.01 + ((LR - 0.01) * (1 + Math.cos((Math.PI * (t - 4)) / 16))) / 2,
      12,
    );
  });

  it("cosine in steps counts every batch of the run", () => {
    const s = resolveSchedule({ type: "cosine", unit: "steps", warmup: 10 }, "d");
    // 5 epochs of 10 steps: T = 50; epoch 2 batch 4 is step 14
    expect(scheduledRate(LR, s, 1, 4, 10, 5)).toBeCloseTo((LR * 5) / 10, 12);
    expect(scheduledRate(LR, s, 2, 4, 10, 5)).toBeCloseTo(
      (LR * (1 + Math.cos((Math.PI * 4) / 40))) / 2,
      12,
    );
    expect(scheduledRate(LR, s, 3, 10 - 10, 10, 5)).toBeCloseTo(
      (LR * (1 + Math.cos((Math.PI * 10) / 40))) / 2,
      12,
    );
  });

  it("oneCycle follows PyTorch's OneCycleLR (cosine anneal, pct_start 0.3, div 25, final 1e4)", () => {
    const s = resolveSchedule({ type: "oneCycle", unit: "steps" }, "d");
    const T = 100; // 10 epochs of 10 steps; the rise ends at step 29
    const at = (step: number) => scheduledRate(LR, s, Math.floor(step / 10) + 1, step % 10, 10, 10);
    const anneal = (a: number, b: number, pct: number) =>
      b + ((a - b) / 2) * (Math.cos(Math.PI * pct) + 1);
    expect(at(0)).toBeCloseTo(LR / 25, 12);
    expect(at(15)).toBeCloseTo(anneal(LR / 25, LR, 15 / 29), 12);
    expect(at(29)).toBeCloseTo(LR, 12);
    expect(at(64)).toBeCloseTo(anneal(LR, LR / 25 / 1e4, (64 - 29) / (T - 1 - 29)), 12);
    expect(at(99)).toBeCloseTo(LR / 25 / 1e4, 14);
  });

  it("step and exponential decays keep their epochs, after a warmup", () => {
    const step = resolveSchedule({ type: "step", rate: 0.5, everyEpochs: 3, warmup: 2 }, "d");
    expect(scheduledRate(LR, step, 1, 0, 4, 20)).toBeCloseTo(LR / 2, 12);
    expect(scheduledRate(LR, step, 3, 0, 4, 20)).toBe(LR);
    // epoch 8: t = 7, 5 epochs after the warmup, one period of 3 done
    expect(scheduledRate(LR, step, 8, 2, 4, 20)).toBe(LR * 0.5);
    expect(scheduledRate(LR, step, 9, 0, 4, 20)).toBe(LR * 0.5 * 0.5);
    const exp = resolveSchedule({ type: "exponential", rate: 0.9 }, "d");
    expect(scheduledRate(LR, exp, 4, 0, 4, 20)).toBe(LR * 0.9 * 0.9 * 0.9);
  });

  it("fit reports each epoch's rate and refuses a warmup as long as the run", async () => {
    const data = linearData(40);
    const spec = { inputs: 2, layers: [{ units: 1, activation: "linear" as const }] };
    const result = await train(createNetwork(spec), data, {
      loss: "mse",
      optimizer: { name: "sgd", learningRate: LR, decay: { type: "cosine", warmup: 1 } },
      epochs: 3,
      batchSize: 10,
    });
    expect(result.history.map((h) => h.learningRate)).toEqual([
      LR,
      scheduledRate(LR, resolveSchedule({ type: "cosine", warmup: 1 }, "d"), 2, 3, 4, 3),
      scheduledRate(LR, resolveSchedule({ type: "cosine", warmup: 1 }, "d"), 3, 3, 4, 3),
    ]);
    await expectEngineErrorAsync(
      () =>
        train(createNetwork(spec), data, {
          loss: "mse",
          optimizer: { name: "sgd", decay: { type: "cosine", unit: "steps", warmup: 12 } },
          epochs: 3,
          batchSize: 10,
        }),
      "optimizer.decay.warmup",
      /12 steps, but the run is 12 steps \(3 epochs of 4 steps\)/,
    );
    await expectEngineErrorAsync(
      () =>
        train(createNetwork(spec), data, {
          loss: "mse",
          optimizer: { name: "sgd", decay: { type: "step", rate: 0.5, everyEpochs: 1, warmup: 5 } },
          epochs: 3,
          batchSize: 10,
        }),
      "optimizer.decay.warmup",
      /5 epochs, but the run is 3 epochs/,
    );
  });
});

describe("adamw", () => {
  it("shrinks the weights by lr·wd outside the moments; biases are not decayed", () => {
    const net = createNetwork({ inputs: 2, layers: [{ units: 1, activation: "linear" }] });
    net.setWeights([new Float32Array([0.5, -2]), new Float32Array([1])]);
    const config = resolveOptimizer({ name: "adamw", learningRate: 0.1, weightDecay: 0.2 });
    expect(config.weightDecay).toBe(0.2);
    expect(resolveOptimizer({ name: "adamw" }).weightDecay).toBe(0.01);
    expect(resolveOptimizer({ name: "adam" }).weightDecay).toBe(0);
    const opt = new Optimizer(config);
    net.reserve(1, opt.slots);
    opt.reset(net);
    const g = [0.3, -0.7, 0.4];
    const P = net.parameterBlock;
    const [w, b] = [net.layers[0]!.weights, net.layers[0]!.bias];
    net.memory[P + w] = g[0]!;
    net.memory[P + w + 1] = g[1]!;
    net.memory[P + b] = g[2]!;
    opt.step(net, 0.1);
    // First Adam step: m̂ = g, v̂ = g², so the step is lr·g/(|g| + ε).
    const adamStep = (gi: number) => (0.1 * gi) / (Math.abs(gi) + 1e-8);
    const [W, B] = net.getWeights();
    expect(W![0]).toBeCloseTo(0.5 * (1 - 0.1 * 0.2) - adamStep(g[0]!), 5);
    expect(W![1]).toBeCloseTo(-2 * (1 - 0.1 * 0.2) - adamStep(g[1]!), 5);
    expect(B![0]).toBeCloseTo(1 - adamStep(g[2]!), 5);
  });

  it("differs from adam's L2 penalty, which goes through the moments", async () => {
    const data = linearData(64);
    const spec = {
      inputs: 2,
      layers: [
        { units: 4, activation: "tanh" as const },
        { units: 1, activation: "linear" as const },
      ],
    };
    const run = async (name: "adam" | "adamw") => {
      const net = createNetwork(spec, { seed: 3 });
      await train(net, data, {
        loss: "mse",
        optimizer: { name, learningRate: 0.01, weightDecay: 0.1 },
        epochs: 3,
        batchSize: 16,
      });
      return net.getWeights();
    };
    expect(await run("adam")).not.toEqual(await run("adamw"));
  });
});
