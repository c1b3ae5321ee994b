/** XOR, the fixture most tests train on: once, in the shapes the API and the engine take. */

/** The four input rows, as a request sends them. */
export const XOR_INPUTS = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
];

/** The class of each row (0/1 targets of one sigmoid unit). */
export const XOR_LABELS = [0, 1, 1, 0];

/** The same as the engine's Dataset: row-major Float32 inputs and targets. */
export const XOR_DATASET = {
  inputs: new Float32Array(XOR_INPUTS.flat()),
  rows: XOR_INPUTS.length,
  targets: new Float32Array(XOR_LABELS),
};
