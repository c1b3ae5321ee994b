/**
 * The rules the API shares with the engine, each held once in the engine: parameter count,
 * classifier kind, the loss <-> output check and the optimizer defaults.
 */
import { describe, expect, it } from "vitest";
import {
  classifierKind,
  countParameters,
  createNetwork,
  DEFAULT_LEARNING_RATES,
  lossOutputProblem,
  resolveOptimizer,
} from "../../src/engine/index.ts";

describe("countParameters", () => {
  it("counts weights and biases, as the built network does", () => {
    const spec = {
      inputs: 2,
      layers: [
        { units: 8, activation: "tanh" as const },
        { units: 1, activation: "sigmoid" as const },
      ],
    };
    expect(countParameters(spec)).toBe(2 * 8 + 8 + 8 * 1 + 1);
    expect(countParameters(spec)).toBe(createNetwork(spec).parameterCount);
  });
});

describe("classifierKind", () => {
  it("tells a binary, a multiclass and a regression output apart", () => {
    const one = [{ units: 1, activation: "sigmoid" as const }];
    const three = [{ units: 3, activation: "softmax" as const }];
    expect(classifierKind({ layers: one }, "binaryCrossentropy")).toBe("binary");
    expect(classifierKind({ layers: three }, "sparseCategoricalCrossentropy")).toBe("multiclass");
    expect(classifierKind({ layers: three }, "categoricalCrossentropy")).toBe("multiclass");
    expect(classifierKind({ layers: one }, "mse")).toBeNull();
    expect(classifierKind({ layers: three }, "mae")).toBeNull();
    // Several sigmoid units are one-vs-rest scores, not one class.
    expect(
      classifierKind({ layers: [{ units: 2, activation: "sigmoid" }] }, "binaryCrossentropy"),
    ).toBeNull();
  });
});

describe("lossOutputProblem", () => {
  it("binaryCrossentropy needs a sigmoid, the other cross-entropies a softmax", () => {
    expect(lossOutputProblem("binaryCrossentropy", "sigmoid")).toBeNull();
    expect(lossOutputProblem("binaryCrossentropy", "softmax")).toBe(
      "binaryCrossentropy needs a sigmoid output layer",
    );
    expect(lossOutputProblem("categoricalCrossentropy", "sigmoid")).toBe(
      "categoricalCrossentropy needs a softmax output layer",
    );
    expect(lossOutputProblem("sparseCategoricalCrossentropy", "softmax")).toBeNull();
    expect(lossOutputProblem("mse", "softmax")).toBeNull();
    expect(lossOutputProblem("mae", "tanh")).toBeNull();
  });

  it("is what evaluate enforces", () => {
    const net = createNetwork({ inputs: 1, layers: [{ units: 2, activation: "softmax" }] });
    expect(() =>
      net.evaluate(
        { inputs: new Float32Array([1]), rows: 1, targets: new Float32Array([1, 0]) },
        "binaryCrossentropy",
      ),
    ).toThrow(/binaryCrossentropy needs a sigmoid output layer; layers\[0\] is softmax/);
  });
});

describe("optimizer defaults", () => {
  it("are PyTorch 2's learning rates, applied when a spec gives none", () => {
    expect(DEFAULT_LEARNING_RATES).toEqual({
      sgd: 0.001,
      momentum: 0.001,
      rmsprop: 0.01,
      adam: 0.001,
      adamw: 0.001,
    });
    for (const name of ["sgd", "momentum", "rmsprop", "adam", "adamw"] as const) {
      expect(resolveOptimizer({ name }).learningRate).toBe(DEFAULT_LEARNING_RATES[name]);
    }
    expect(resolveOptimizer({ name: "rmsprop" }).rho).toBe(0.99);
  });
});
