/** Training requests the end-to-end tests send: small networks that learn in well under a second. */
import type { NetworkRequest, TrainRequestInput } from "../../src/training/request.ts";

/** A train request with inline data (not from a dataset). */
export type InlineTrainRequest = TrainRequestInput & {
  data: NonNullable<TrainRequestInput["data"]>;
  network: NetworkInput;
  training: NonNullable<TrainRequestInput["training"]>;
};

/** A request's own network (not "auto"). */
export type NetworkInput = NetworkRequest;

import { XOR_INPUTS } from "./xor.ts";

export { XOR_INPUTS } from "./xor.ts";

/** The contract's XOR request, exactly as the issue gives it. */
export function xorRequest(model = "xor"): InlineTrainRequest {
  return {
    model,
    network: {
      inputs: 2,
      layers: [
        { units: 8, activation: "tanh" },
        { units: 1, activation: "sigmoid" },
      ],
    },
    loss: "binaryCrossentropy",
    optimizer: { name: "adam", learningRate: 0.01 },
    training: {
      epochs: 500,
      batchSize: 4,
      seed: 1,
      validationSplit: 0,
      earlyStopping: { patience: 20 },
    },
    data: { inputs: XOR_INPUTS, targets: [[0], [1], [1], [0]] },
  };
}

/** XNOR: the XOR network learning the opposite truth table (to tell two models' weights apart). */
export function xnorRequest(model = "xor"): InlineTrainRequest {
  return { ...xorRequest(model), data: { inputs: XOR_INPUTS, targets: [[1], [0], [0], [1]] } };
}

/**
 * XOR (or, with `targets`, another truth table) in 80 epochs at learning rate 0.1: for tests
 * that need trained models, not the contract's request. Each epoch costs a database write.
 */
export function quickXorRequest(model: string, targets = [[0], [1], [1], [0]]): InlineTrainRequest {
  return {
    ...xorRequest(model),
    optimizer: { name: "adam", learningRate: 0.1 },
    training: { epochs: 80, batchSize: 4, seed: 1, validationSplit: 0 },
    data: { inputs: XOR_INPUTS, targets },
  };
}

/** XNOR, quickly: the XOR network learning the opposite truth table. */
export const quickXnorRequest = (model: string) => quickXorRequest(model, [[1], [0], [0], [1]]);

/**
 * XOR trained for a fixed number of epochs (no early stopping): a job that stays running long
 * enough to be watched, cancelled or killed, with one epoch row per epoch.
 */
export function longXorRequest(model: string, epochs: number): InlineTrainRequest {
  const request = xorRequest(model);
  return { ...request, training: { epochs, batchSize: 1, seed: 7, validationSplit: 0 } };
}

/** Three well separated clusters in the plane, class = cluster; `perClass` points each. */
export function clusters(perClass = 12): { inputs: number[][]; labels: number[] } {
  const centers = [
    [0, 0],
    [5, 0],
    [0, 5],
  ];
  const inputs: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < perClass; i++) {
    // A deterministic ring of offsets within 1 of the center.
    const angle = (2 * Math.PI * i) / perClass;
    const radius = 0.3 + (0.6 * ((i * 7) % perClass)) / perClass;
    centers.forEach(([cx, cy], label) => {
      inputs.push([cx! + radius * Math.cos(angle), cy! + radius * Math.sin(angle)]);
      labels.push(label);
    });
  }
  return { inputs, labels };
}

/** A softmax classifier on class-index labels (sparseCategoricalCrossentropy). */
export function clustersRequest(model = "clusters"): InlineTrainRequest {
  return {
    model,
    network: {
      inputs: 2,
      layers: [
        { units: 8, activation: "relu" },
        { units: 3, activation: "softmax" },
      ],
    },
    loss: "sparseCategoricalCrossentropy",
    optimizer: { name: "adam", learningRate: 0.05 },
    training: { epochs: 150, batchSize: 8, seed: 3, validationSplit: 0 },
    data: clusters(),
  };
}

/**
 * A job whose epochs take milliseconds in the thread (256 rows, one per batch, two hidden layers
 * of 32): training really is under way for as long as the job shows it running, unlike XOR,
 * whose thousands of epochs finish in the thread well before their rows are written.
 */
export function slowRequest(model: string, epochs: number): InlineTrainRequest {
  const inputs: number[][] = [];
  const targets: number[][] = [];
  for (let i = 0; i < 256; i++) {
    const x = ((i * 37) % 101) / 101;
    const y = ((i * 53) % 97) / 97;
    inputs.push([x, y]);
    targets.push([x > 0.5 !== y > 0.5 ? 1 : 0]);
  }
  return {
    model,
    network: {
      inputs: 2,
      layers: [
        { units: 32, activation: "tanh" },
        { units: 32, activation: "tanh" },
        { units: 1, activation: "sigmoid" },
      ],
    },
    loss: "binaryCrossentropy",
    optimizer: { name: "adam", learningRate: 0.01 },
    training: { epochs, batchSize: 1, seed: 5, validationSplit: 0 },
    data: { inputs, targets },
  };
}
