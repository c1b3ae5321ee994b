/**
 * Input gradients checked against central finite differences of the network's own forward pass,
 * for every differentiable activation in hidden and output layers, and refused for step.
 */
import { describe, expect, it } from "vitest";
import {
  ACTIVATIONS,
  type ActivationName,
  createNetwork,
  InputGradients,
} from "../../src/engine/index.ts";
import { expectEngineError } from "./helpers.ts";

const INPUTS = 5;
const HIDDEN = ACTIVATIONS.filter((a) => a !== "step" && a !== "softmax");

function row(seed: number): Float64Array {
  return Float64Array.from({ length: INPUTS }, (_, i) => Math.sin(1.3 * i + seed) * 1.2);
}

function checkGradient(hidden: ActivationName, output: ActivationName, units: number) {
  const net = createNetwork(
    {
      inputs: INPUTS,
      layers: [
        { units: 6, activation: hidden },
        { units: 4, activation: hidden },
        { units, activation: output },
      ],
    },
    { seed: 5 },
  );
  const g = new InputGradients(net);
  const gradient = new Float64Array(INPUTS);
  for (const seed of [0.2, 1.9]) {
    const x = row(seed);
    for (let unit = 0; unit < units; unit++) {
      const value = g.gradient(x, unit, gradient);
      // The float64 forward agrees with the network's float32 predict.
      expect(value).toBeCloseTo(net.predict(Float32Array.from(x), 1)[unit]!, 5);
      for (let i = 0; i < INPUTS; i++) {
        const h = 1e-5;
        const up = Float64Array.from(x);
        const down = Float64Array.from(x);
        up[i]! += h;
        down[i]! -= h;
        const numeric = (g.forward(up)[unit]! - g.forward(down)[unit]!) / (2 * h);
        expect(gradient[i], `${hidden}/${output} unit ${unit} input ${i}`).toBeCloseTo(numeric, 6);
      }
    }
  }
}

describe("InputGradients", () => {
  for (const hidden of HIDDEN) {
    it(`matches finite differences through ${hidden} layers`, () => {
      checkGradient(hidden, "linear", 2);
      checkGradient(hidden, "sigmoid", 1);
      checkGradient(hidden, "softmax", 3);
    });
  }

  it("refuses a network with a step layer", () => {
    const net = createNetwork({ inputs: 2, layers: [{ units: 1, activation: "step" }] });
    expectEngineError(() => new InputGradients(net), "layers[0].activation", /step/);
  });

  it("refuses an output unit the network does not have", () => {
    const net = createNetwork({ inputs: 2, layers: [{ units: 2, activation: "linear" }] });
    const g = new InputGradients(net);
    expectEngineError(() => g.gradient([1, 2], 2, new Float64Array(2)), "unit", /0 to 1/);
  });
});
