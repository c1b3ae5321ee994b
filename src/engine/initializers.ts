/**
 * Weight initializers by name, with PyTorch's formulas (torch.nn.init): Glorot (Xavier) scales
 * by fan-in + fan-out and suits sigmoid/tanh/linear; He (Kaiming) scales by fan-in and suits
 * the relu family. Normal variants are plain (not truncated) normals. Biases start at zero,
 * except under torchLinear: it is what torch.nn.Linear does when nothing is said (weights by
 * kaiming_uniform_ with a = √5, i.e. U(±1/√fanIn), and biases U(±1/√fanIn)), so that a recipe
 * ported from PyTorch starts from the same distribution, biases included.
 */
import type { Random } from "./random.ts";
import type { InitializerName } from "./spec.ts";

type Fill = (
  m: Float32Array,
  offset: number,
  fanIn: number,
  fanOut: number,
  random: Random,
) => void;

function uniform(limit: (fanIn: number, fanOut: number) => number): Fill {
  return (m, offset, fanIn, fanOut, random) => {
    const a = limit(fanIn, fanOut);
    const n = fanIn * fanOut;
    for (let i = 0; i < n; i++) m[offset + i] = (2 * random.uniform() - 1) * a;
  };
}

function normal(std: (fanIn: number, fanOut: number) => number): Fill {
  return (m, offset, fanIn, fanOut, random) => {
    const s = std(fanIn, fanOut);
    const n = fanIn * fanOut;
    for (let i = 0; i < n; i++) m[offset + i] = random.normal() * s;
  };
}

/** torch.nn.Linear's bound for its weights and its biases alike. */
function torchBound(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}

export const INITIALIZER_FILLS: Readonly<Record<InitializerName, Fill>> = {
  glorotUniform: uniform((fanIn, fanOut) => Math.sqrt(6 / (fanIn + fanOut))),
  glorotNormal: normal((fanIn, fanOut) => Math.sqrt(2 / (fanIn + fanOut))),
  heUniform: uniform((fanIn) => Math.sqrt(6 / fanIn)),
  heNormal: normal((fanIn) => Math.sqrt(2 / fanIn)),
  torchLinear: uniform(torchBound),
  zeros: (m, offset, fanIn, fanOut) => {
    m.fill(0, offset, offset + fanIn * fanOut);
  },
};

/** Initial biases: zero, but torchLinear's U(±1/√fanIn), drawn after the layer's weights. */
export function fillBias(
  name: InitializerName,
  m: Float32Array,
  offset: number,
  fanIn: number,
  units: number,
  random: Random,
): void {
  if (name !== "torchLinear") {
    m.fill(0, offset, offset + units);
    return;
  }
  const a = torchBound(fanIn);
  for (let i = 0; i < units; i++) m[offset + i] = (2 * random.uniform() - 1) * a;
}
