/**
 * The modelling fields of a gRPC TrainRequest arrive as REST's JSON body: dropout, adamw with a
 * cosine schedule, label smoothing, class weights (balanced or by class), warm start, and an
 * unset network with unset loss and epochs (the default recipe).
 */
import { describe, expect, it } from "vitest";
import type { TrainRequest__Output } from "../../../src/generated/grpc/nnserve/v1/TrainRequest.ts";
import { parseRequest } from "../../../src/platform/validation/parse.ts";
import { createTrainRequestSchema } from "../../../src/training/request.ts";
import { trainRequestFromMessage } from "../../../src/transport/grpc/convert.ts";

const schema = createTrainRequestSchema({
  maxEpochs: 10_000,
  maxLayers: 32,
  maxUnits: 4096,
  maxParameters: 10_000_000,
  maxRows: 100_000,
  maxPredictRows: 10_000,
});

const empty = {
  model: "m",
  network: null,
  loss: "",
  optimizer: null,
  training: null,
  data: null,
  idempotencyKey: "",
  dataset: "",
  target: "",
  features: [],
  task: "",
  preprocessing: null,
  from: null,
};

describe("gRPC TrainRequest -> POST /train body", () => {
  it("carries the modelling fields", () => {
    const body = trainRequestFromMessage({
      ...empty,
      network: {
        inputs: 0,
        inputDropout: 0.1,
        layers: [
          { units: 8, activation: "relu", dropout: 0.3 },
          { units: 3, activation: "softmax" },
        ],
      },
      loss: "sparseCategoricalCrossentropy",
      optimizer: {
        name: "adamw",
        weightDecay: 0.05,
        decay: { type: "cosine", unit: "steps", warmup: 10, minLearningRate: 0.0001 },
      },
      training: {
        epochs: 20,
        labelSmoothing: 0.1,
        classWeights: { balanced: false, weights: { setosa: 2 } },
        storeOptimizerState: false,
        earlyStopping: null,
      },
      dataset: "4b0d2a4e-9c1f-4a51-9f0a-2f0b6f1d3c55",
      target: "species",
      preprocessing: { scaling: "robust", unknown: "", impute: "", imputeColumns: {}, clip: true },
      from: { model: "iris", version: 3 },
    } as unknown as TrainRequest__Output);
    expect(body).toMatchObject({
      network: {
        inputDropout: 0.1,
        layers: [{ units: 8, activation: "relu", dropout: 0.3 }, { units: 3 }],
      },
      optimizer: {
        name: "adamw",
        weightDecay: 0.05,
        decay: { type: "cosine", unit: "steps", warmup: 10, minLearningRate: 0.0001 },
      },
      training: {
        epochs: 20,
        labelSmoothing: 0.1,
        classWeights: { setosa: 2 },
        storeOptimizerState: false,
      },
      preprocessing: { scaling: "robust", clip: true },
      from: { model: "iris", version: 3 },
    });
    expect(() => parseRequest(schema, body)).not.toThrow();
  });

  it("an unset network, loss and epochs is the default recipe's request", () => {
    const body = trainRequestFromMessage({
      ...empty,
      training: { epochs: 0, testSplit: 0.3, classWeights: { balanced: true, weights: {} } },
      dataset: "4b0d2a4e-9c1f-4a51-9f0a-2f0b6f1d3c55",
      target: "species",
    } as unknown as TrainRequest__Output);
    expect(body.loss).toBeUndefined();
    expect(body.training).toEqual({ testSplit: 0.3, classWeights: "balanced" });
    const parsed = parseRequest(schema, body);
    expect(parsed.network).toBeUndefined();
  });
});
