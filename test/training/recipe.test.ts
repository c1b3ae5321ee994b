/** The default recipe's choices for each shape of data (docs/modelling.md gives the reasons). */
import { describe, expect, it } from "vitest";
import { checkScheduleFits, resolveSchedule } from "../../src/engine/index.ts";
import { applyRecipe, defaultRecipe } from "../../src/training/recipe.ts";

const layers = (r: ReturnType<typeof defaultRecipe>) =>
  r.network.layers.map((l) => [l.units, l.activation, l.dropout ?? 0]);

describe("the default recipe", () => {
  it("a small classification: 64-unit ReLU layers, every row trained, the full budget", () => {
    const r = defaultRecipe({ rows: 120, features: 4, classes: 3 });
    expect(layers(r)).toEqual([
      [64, "relu", 0.1],
      [64, "relu", 0.1],
      [3, "softmax", 0],
    ]);
    expect(r.loss).toBe("sparseCategoricalCrossentropy");
    expect(r.training).toEqual({
      epochs: 300,
      batchSize: 32,
      validationSplit: 0,
      labelSmoothing: 0.1,
    });
    expect(r.optimizer).toMatchObject({ name: "adamw", learningRate: 2e-3, weightDecay: 0.1 });
    expect(r.optimizer.decay).toEqual({ type: "cosine", unit: "steps", warmup: 60 });
  });

  it("a mid-sized classification: 128 units, validation and early stopping", () => {
    const r = defaultRecipe({ rows: 10_000, features: 30, classes: 2 });
    expect(layers(r)[0]).toEqual([128, "relu", 0.1]);
    expect(r.training).toMatchObject({ batchSize: 128, validationSplit: 0.1 });
    expect(r.training.earlyStopping).toEqual({
      monitor: "valLoss",
      patience: 20,
      restoreBestWeights: true,
    });
    // 9,000 training rows in batches of 128: 71 steps an epoch, 6,000 steps in 85 epochs.
    expect(r.training.epochs).toBe(85);
  });

  it("a large classification (100k rows): 256 units, batches of 256, at least 20 epochs", () => {
    const r = defaultRecipe({ rows: 100_000, features: 20, classes: 3 });
    expect(layers(r)[0]).toEqual([256, "relu", 0.1]);
    expect(r.training).toMatchObject({ batchSize: 256, validationSplit: 0.1, epochs: 20 });
  });

  it("a small regression: linear output, mse, more dropout, early stopping", () => {
    const r = defaultRecipe({ rows: 300, features: 10, classes: 0 });
    expect(layers(r)).toEqual([
      [64, "relu", 0.2],
      [64, "relu", 0.2],
      [1, "linear", 0],
    ]);
    expect(r.loss).toBe("mse");
    expect(r.training.labelSmoothing).toBeUndefined();
    expect(r.training).toMatchObject({
      validationSplit: 0.1,
      earlyStopping: { monitor: "valLoss" },
    });
  });

  it("a large regression trains its budget on every row", () => {
    const r = defaultRecipe({ rows: 5000, features: 8, classes: 0 });
    expect(r.training).toMatchObject({ validationSplit: 0, batchSize: 64 });
    expect(r.training.earlyStopping).toBeUndefined();
  });

  it("a tiny set still has a schedule whose warmup ends before the run", () => {
    for (const rows of [1, 5, 50, 99, 100, 1999, 2000, 60_000]) {
      for (const classes of [0, 2, 5]) {
        const r = defaultRecipe({ rows, features: 3, classes });
        const trainRows = rows - Math.floor(rows * r.training.validationSplit);
        expect(() =>
          checkScheduleFits(
            resolveSchedule(r.optimizer.decay, "d"),
            r.training.epochs,
            Math.ceil(trainRows / r.training.batchSize),
            "d",
          ),
        ).not.toThrow();
      }
    }
  });

  it("keeps what the request gives, field by field; a binary cross-entropy gets a sigmoid", () => {
    const resolved = applyRecipe(
      { model: "m", loss: "binaryCrossentropy", training: { epochs: 7, batchSize: 16 } } as never,
      { rows: 200, features: 3, classes: 2 },
    );
    expect(resolved.network.layers.at(-1)).toEqual({ units: 1, activation: "sigmoid" });
    expect(resolved.training).toEqual({
      epochs: 7,
      batchSize: 16,
      shuffle: true,
      validationSplit: 0,
      labelSmoothing: 0.1,
    });
    // The warmup follows the run those settings make: 7 epochs of 13 steps.
    expect(resolved.optimizer.decay).toMatchObject({
      type: "cosine",
      warmup: Math.floor(7 * 13 * 0.05),
    });
  });

  it('the dashboard\'s "auto" with only a test split gets the whole recipe around it', () => {
    const resolved = applyRecipe({ model: "m", training: { testSplit: 0.3 } } as never, {
      rows: 5000,
      features: 8,
      classes: 4,
    });
    expect(resolved.training).toMatchObject({
      testSplit: 0.3,
      batchSize: 64,
      validationSplit: 0.1,
      earlyStopping: { monitor: "valLoss" },
    });
    expect(resolved.optimizer).toMatchObject({ name: "adamw" });
  });
});
