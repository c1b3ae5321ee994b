/**
 * Integrated gradients keep completeness: the attributions sum to F(x) − F(baseline) within
 * 1e-3, for networks of every differentiable activation (hidden and output), for the raw
 * output, a probability taken as 1 − p, and a scaled value.
 */
import { describe, expect, it } from "vitest";
import { ACTIVATIONS, createNetwork, InputGradients } from "../../../src/engine/index.ts";
import { integratedGradients } from "../../../src/prediction/explain/integrated-gradients.ts";

const INPUTS = 6;
const HIDDEN = ACTIVATIONS.filter((a) => a !== "step" && a !== "softmax");
const OUTPUTS = [
  { activation: "linear", units: 2 },
  { activation: "sigmoid", units: 1 },
  { activation: "softmax", units: 3 },
] as const;

const options = { tolerance: 1e-5, minSteps: 16, maxSteps: 4096 };

describe("integratedGradients", () => {
  for (const hidden of HIDDEN) {
    for (const output of OUTPUTS) {
      it(`is complete within 1e-3 through ${hidden} layers to a ${output.activation} output`, async () => {
        const net = createNetwork(
          {
            inputs: INPUTS,
            layers: [
              { units: 12, activation: hidden },
              { units: 8, activation: hidden },
              { units: output.units, activation: output.activation },
            ],
          },
          { seed: 17 },
        );
        const gradients = new InputGradients(net);
        const x = Float64Array.from({ length: INPUTS }, (_, i) => Math.cos(2.1 * i) * 2);
        const baseline = Float64Array.from({ length: INPUTS }, (_, i) => (i % 2) * 0.3);
        for (const [sign, offset] of [
          [1, 0],
          [-1, 1],
          [3.5, 10],
        ] as const) {
          const a = await integratedGradients(
            gradients,
            x,
            baseline,
            output.units - 1,
            sign,
            offset,
            options,
          );
          const sum = a.values.reduce((s, v) => s + v, 0);
          const outputs = gradients.forward(x);
          expect(a.output).toBeCloseTo(sign * outputs[output.units - 1]! + offset, 12);
          expect(Math.abs(sum - (a.output - a.baselineOutput))).toBeLessThan(1e-3);
          expect(a.gap).toBeCloseTo(sum - (a.output - a.baselineOutput), 12);
        }
      });
    }
  }

  it("gives a linear model's exact attributions: weight times distance", async () => {
    const net = createNetwork(
      { inputs: 3, layers: [{ units: 1, activation: "linear" }] },
      { seed: 2 },
    );
    const w = net.getWeights()[0]!;
    const a = await integratedGradients(
      new InputGradients(net),
      Float64Array.from([1, 2, 3]),
      Float64Array.from([0, 0, 1]),
      0,
      1,
      0,
      options,
    );
    expect(a.values[0]).toBeCloseTo(w[0]! * 1, 6);
    expect(a.values[1]).toBeCloseTo(w[1]! * 2, 6);
    expect(a.values[2]).toBeCloseTo(w[2]! * 2, 6);
    expect(a.steps).toBe(16);
  });
});
