import { describe, expect, it } from "vitest";
import { DEFAULT_LEARNING_RATES, OPTIMIZERS } from "../../src/engine/index.ts";
import { AppError } from "../../src/platform/errors.ts";
import { parseRequest } from "../../src/platform/validation/parse.ts";
import { createPredictRequestSchema } from "../../src/prediction/request.ts";
import { createTrainRequestSchema } from "../../src/training/request.ts";

const limits = {
  maxEpochs: 1000,
  maxLayers: 4,
  maxUnits: 64,
  maxParameters: 500,
  maxRows: 8,
  maxPredictRows: 4,
};
const trainSchema = createTrainRequestSchema(limits);
const predictSchema = createPredictRequestSchema(limits);

type Json = Record<string, unknown>;

function xor(): Json {
  return {
    model: "xor",
    network: {
      inputs: 2,
      layers: [
        { units: 8, activation: "tanh" },
        { units: 1, activation: "sigmoid" },
      ],
    },
    loss: "binaryCrossentropy",
    optimizer: { name: "adam", learningRate: 0.01 },
    training: { epochs: 500, batchSize: 4, seed: 1, earlyStopping: { patience: 20 } },
    data: {
      inputs: [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ],
      targets: [[0], [1], [1], [0]],
    },
  };
}

function iris(): Json {
  return {
    model: "iris",
    network: {
      inputs: 2,
      layers: [
        { units: 4, activation: "relu" },
        { units: 3, activation: "softmax" },
      ],
    },
    loss: "sparseCategoricalCrossentropy",
    training: { epochs: 10 },
    data: {
      inputs: [
        [0.1, 0.2],
        [0.3, 0.4],
        [0.5, 0.6],
      ],
      labels: [0, 1, 2],
    },
  };
}

/** Sets a value at a dotted path in a copy of the request; undefined deletes the field. */
function edit(base: Json, changes: Record<string, unknown>): Json {
  const copy = structuredClone(base);
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split(".");
    let node = copy as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
    const last = keys.at(-1)!;
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
  return copy;
}

/** JSON as a client sends it: 1e400 becomes Infinity exactly as it would over HTTP. */
function fromJson(text: string): Json {
  return JSON.parse(text) as Json;
}

function issuesOf(schema: typeof trainSchema | typeof predictSchema, body: unknown) {
  try {
    parseRequest(schema, body);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("VALIDATION_FAILED");
    return (error as AppError).errors;
  }
  throw new Error("expected the request to be rejected");
}

const badTrainRequests: [string, Json, string, string][] = [
  [
    "a ragged input row",
    edit(xor(), {
      "data.inputs": [
        [0, 0],
        [0, 1, 1],
        [1, 0],
        [1, 1],
      ],
    }),
    "data.inputs[1]",
    "has 3 values; network.inputs is 2",
  ],
  [
    "a number that overflows to Infinity (1e400)",
    fromJson(JSON.stringify(xor()).replace('"inputs":[[0,0],[0,1]', '"inputs":[[0,0],[0,1e400]')),
    "data.inputs[1][1]",
    "finite number",
  ],
  [
    "inputs that are not an array of rows",
    edit(xor(), { "data.inputs": "0,0;0,1" }),
    "data.inputs",
    "expected array, received string",
  ],
  [
    "an input row that is a number, not a row",
    edit(xor(), { "data.inputs": [[0, 0], 5, [1, 0], [1, 1]] }),
    "data.inputs[1]",
    "expected array, received number",
  ],
  [
    "targets that are a number",
    edit(xor(), { "data.targets": 3 }),
    "data.targets",
    "expected array, received number",
  ],
  [
    "a string among the inputs",
    edit(xor(), {
      "data.inputs": [
        [0, 0],
        [0, "1"],
        [1, 0],
        [1, 1],
      ],
    }),
    "data.inputs[1][1]",
    "expected number",
  ],
  [
    "a target row wider than the output layer",
    edit(xor(), { "data.targets": [[0], [1, 0], [1], [0]] }),
    "data.targets[1]",
    "the output layer has 1 units",
  ],
  [
    "fewer targets than inputs",
    edit(xor(), { "data.targets": [[0], [1], [1]] }),
    "data.targets",
    "has 3 rows but data.inputs has 4",
  ],
  [
    "a binaryCrossentropy target outside [0, 1]",
    edit(xor(), { "data.targets": [[0], [2], [1], [0]] }),
    "data.targets[1][0]",
    "between 0 and 1",
  ],
  [
    "a label out of range for a softmax output",
    edit(iris(), { "data.labels": [0, 3, 2] }),
    "data.labels[1]",
    "class index from 0 to 2",
  ],
  [
    "a label that is not an integer",
    edit(iris(), { "data.labels": [0, 1.5, 2] }),
    "data.labels[1]",
    "whole-number class index",
  ],
  ["a negative label", edit(iris(), { "data.labels": [0, -1, 2] }), "data.labels[1]", ">= 0"],
  [
    "a label other than 0 or 1 for a 1-unit sigmoid",
    edit(xor(), { "data.targets": undefined, "data.labels": [0, 1, 2, 0] }),
    "data.labels[2]",
    "must be 0 or 1",
  ],
  [
    "both targets and labels",
    edit(xor(), { "data.labels": [0, 1, 1, 0] }),
    "data",
    "either data.targets or data.labels, not both",
  ],
  [
    "neither targets nor labels",
    edit(xor(), { "data.targets": undefined }),
    "data",
    "needs data.targets",
  ],
  [
    "fewer labels than inputs",
    edit(iris(), { "data.labels": [0, 1] }),
    "data.labels",
    "has 2 labels but data.inputs has 3",
  ],
  ["an unknown top-level field", edit(xor(), { epochs: 5 }), "epochs", 'Unknown field "epochs"'],
  [
    "a misspelled training option",
    edit(xor(), { "training.batchsize": 4 }),
    "training.batchsize",
    'did you mean "batchSize"',
  ],
  [
    "an option of another optimizer",
    edit(xor(), { optimizer: { name: "sgd", beta1: 0.9 } }),
    "optimizer.beta1",
    'Unknown field "beta1"',
  ],
  [
    "an unknown optimizer",
    edit(xor(), { optimizer: { name: "lion" } }),
    "optimizer.name",
    '"sgd", "momentum", "rmsprop", "adam", "adamw"',
  ],
  [
    "a layer with zero units",
    edit(xor(), {
      "network.layers": [
        { units: 0, activation: "tanh" },
        { units: 1, activation: "sigmoid" },
      ],
    }),
    "network.layers[0].units",
    "from 1 to 64",
  ],
  [
    "a layer wider than MAX_UNITS",
    edit(xor(), {
      "network.layers": [
        { units: 65, activation: "tanh" },
        { units: 1, activation: "sigmoid" },
      ],
    }),
    "network.layers[0].units",
    "from 1 to 64",
  ],
  [
    "an unknown activation",
    edit(xor(), {
      "network.layers": [
        { units: 8, activation: "swish" },
        { units: 1, activation: "sigmoid" },
      ],
    }),
    "network.layers[0].activation",
    "expected one of",
  ],
  [
    "softmax on a hidden layer",
    edit(iris(), {
      "network.layers": [
        { units: 4, activation: "softmax" },
        { units: 3, activation: "softmax" },
      ],
    }),
    "network.layers[0].activation",
    "only allowed on the output (last) layer",
  ],
  [
    "a 1-unit softmax output",
    edit(iris(), {
      loss: "mse",
      "data.labels": undefined,
      "data.targets": [[1], [1], [1]],
      "network.layers": [
        { units: 4, activation: "relu" },
        { units: 1, activation: "softmax" },
      ],
    }),
    "network.layers[1].units",
    "at least 2 units",
  ],
  [
    "step in a multi-layer network",
    edit(xor(), {
      loss: "mse",
      "network.layers": [
        { units: 8, activation: "step" },
        { units: 1, activation: "sigmoid" },
      ],
    }),
    "network.layers[0].activation",
    "single-layer network",
  ],
  [
    "alpha on an activation without one",
    edit(xor(), {
      "network.layers": [
        { units: 8, activation: "tanh", alpha: 0.1 },
        { units: 1, activation: "sigmoid" },
      ],
    }),
    "network.layers[0].alpha",
    "only to leakyRelu and elu",
  ],
  [
    "too many layers",
    edit(xor(), {
      "network.layers": Array.from({ length: 5 }, () => ({ units: 2, activation: "tanh" })),
    }),
    "network.layers",
    "more than 4 layers",
  ],
  ["no layers", edit(xor(), { "network.layers": [] }), "network.layers", "at least one layer"],
  [
    "too many parameters",
    edit(xor(), {
      "network.layers": [
        { units: 64, activation: "relu" },
        { units: 64, activation: "relu" },
        { units: 1, activation: "sigmoid" },
      ],
    }),
    "network",
    "the limit is 500",
  ],
  [
    "too many epochs",
    edit(xor(), { "training.epochs": 1001 }),
    "training.epochs",
    "from 1 to 1000",
  ],
  ["missing epochs", edit(xor(), { "training.epochs": undefined }), "training.epochs", "required"],
  ["a batch size of zero", edit(xor(), { "training.batchSize": 0 }), "training.batchSize", ">= 1"],
  [
    "a validation split of 1",
    edit(xor(), { "training.validationSplit": 1 }),
    "training.validationSplit",
    "[0, 1)",
  ],
  [
    "monitoring valLoss without a validation split",
    edit(xor(), { "training.earlyStopping": { patience: 3, monitor: "valLoss" } }),
    "training.earlyStopping.monitor",
    "validationSplit > 0",
  ],
  [
    "a negative learning rate",
    edit(xor(), { "optimizer.learningRate": -0.1 }),
    "optimizer.learningRate",
    "greater than 0",
  ],
  ["an upper-case model name", edit(xor(), { model: "XOR" }), "model", "lower-case letters"],
  ["a model name with a slash", edit(xor(), { model: "a/b" }), "model", "lower-case letters"],
  [
    "a model name longer than 64 characters",
    edit(xor(), { model: "m".repeat(65) }),
    "model",
    "1-64 characters",
  ],
  [
    "binaryCrossentropy on a softmax output",
    edit(iris(), { loss: "binaryCrossentropy" }),
    "loss",
    "binaryCrossentropy needs a sigmoid output layer",
  ],
  [
    "categoricalCrossentropy with a label past the output units",
    edit(iris(), { loss: "categoricalCrossentropy", "data.labels": [0, 3, 2] }),
    "data.labels[1]",
    "must be a class index from 0 to 2 (the output layer has 3 units)",
  ],
  [
    "categoricalCrossentropy with the wrong target width",
    edit(iris(), {
      loss: "categoricalCrossentropy",
      "data.labels": undefined,
      "data.targets": [
        [1, 0, 0],
        [0, 1],
        [0, 0, 1],
      ],
    }),
    "data.targets[1]",
    "has 2 values; the output layer has 3 units",
  ],
  [
    "sparseCategoricalCrossentropy with targets",
    edit(iris(), { "data.labels": undefined, "data.targets": [[1, 0, 0]] }),
    "data.targets",
    "needs data.labels",
  ],
  [
    "mse with labels",
    edit(xor(), { loss: "mse", "data.targets": undefined, "data.labels": [0, 1, 1, 0] }),
    "data.labels",
    "mse is a regression loss and needs data.targets",
  ],
  [
    "more rows than MAX_ROWS",
    edit(xor(), {
      "data.inputs": Array.from({ length: 9 }, () => [0, 0]),
      "data.targets": Array.from({ length: 9 }, () => [0]),
    }),
    "data.inputs",
    "more than 8 rows",
  ],
];

describe("TrainRequest", () => {
  it("accepts the documented xor example and fills in the defaults", () => {
    const parsed = parseRequest(trainSchema, edit(xor(), { optimizer: undefined }));
    expect(parsed.optimizer).toEqual({ name: "adam", learningRate: 0.001 });
    expect(parsed.training).toMatchObject({ batchSize: 4, shuffle: true, validationSplit: 0 });
  });

  it("fills each optimizer's default learning rate from the engine's one table (PyTorch's)", () => {
    for (const name of OPTIMIZERS) {
      const parsed = parseRequest(trainSchema, edit(xor(), { optimizer: { name } }));
      expect(parsed.optimizer).toEqual({ name, learningRate: DEFAULT_LEARNING_RATES[name] });
    }
    const rmsprop = parseRequest(trainSchema, edit(xor(), { optimizer: { name: "rmsprop" } }));
    expect(rmsprop.optimizer).toEqual({ name: "rmsprop", learningRate: 0.01 });
    const sgd = parseRequest(trainSchema, edit(xor(), { optimizer: { name: "sgd" } }));
    expect(sgd.optimizer).toEqual({ name: "sgd", learningRate: 0.001 });
  });

  it("accepts class labels for a softmax output and 0/1 labels for one sigmoid", () => {
    expect(parseRequest(trainSchema, iris()).data?.labels).toEqual([0, 1, 2]);
    const binary = edit(xor(), { "data.targets": undefined, "data.labels": [0, 1, 1, 0] });
    expect(parseRequest(trainSchema, binary).data?.labels).toEqual([0, 1, 1, 0]);
  });

  it("has at least 25 rejection cases", () => {
    expect(badTrainRequests.length).toBeGreaterThanOrEqual(25);
  });

  it.each(badTrainRequests)("rejects %s", (_name, body, path, fragment) => {
    const issues = issuesOf(trainSchema, body);
    const issue = issues.find((i) => i.path === path);
    expect(issue, `no issue at ${path}; got ${JSON.stringify(issues)}`).toBeDefined();
    expect(issue!.message).toContain(fragment);
  });

  it("lists at most 10 bad rows of a rule and summarises the rest", () => {
    const schema = createTrainRequestSchema({ ...limits, maxRows: 100 });
    const rows = Array.from({ length: 30 }, () => [0]);
    const issues = issuesOf(
      schema as typeof trainSchema,
      edit(xor(), { "data.inputs": rows, "data.targets": rows }),
    );
    expect(issues.filter((i) => i.path.startsWith("data.inputs["))).toHaveLength(10);
    expect(issues).toContainEqual({
      path: "data.inputs",
      message: "20 more rows with the wrong number of values not listed",
    });
  });
});

const badPredictRequests: [string, unknown, string, string][] = [
  ["no model", { inputs: [[1, 2]] }, "model", "required"],
  ["a version of zero", { model: "xor", version: 0, inputs: [[1, 2]] }, "version", ">= 1"],
  ["no rows", { model: "xor", inputs: [] }, "inputs", "at least one row"],
  ["an empty row", { model: "xor", inputs: [[]] }, "inputs[0]", "at least one value"],
  [
    "ragged rows",
    {
      model: "xor",
      inputs: [
        [1, 2],
        [1, 2, 3],
      ],
    },
    "inputs[1]",
    "has 3 values; inputs[0] has 2",
  ],
  [
    "more rows than MAX_PREDICT_ROWS",
    { model: "xor", inputs: Array.from({ length: 5 }, () => [1, 2]) },
    "inputs",
    "more than 4 rows",
  ],
  [
    "an overflowing number",
    fromJson('{"model":"xor","inputs":[[1,-1e400]]}'),
    "inputs[0][1]",
    "finite number",
  ],
  ["inputs that are a string", { model: "xor", inputs: "1,2" }, "inputs", "expected array"],
  [
    "a row that is not an array",
    { model: "xor", inputs: [[1, 2], 3] },
    "inputs[1]",
    "expected array",
  ],
  [
    "an object in a row",
    { model: "xor", inputs: [[1, { x: 1 }]] },
    "inputs[0][1]",
    "expected number or string, received object",
  ],
  ["an unknown field", { model: "xor", input: [[1]], inputs: [[1]] }, "input", "did you mean"],
];

describe("TrainRequest time budget", () => {
  it("takes training.timeBudgetSeconds up to JOB_MAX_SECONDS", () => {
    const budgeted = createTrainRequestSchema({ ...limits, maxJobSeconds: 60 });
    const at = (value: unknown) =>
      parseRequest(budgeted, edit(xor(), { "training.timeBudgetSeconds": value }));
    expect(at(60).training?.timeBudgetSeconds).toBe(60);
    expect(() => at(61)).toThrow(AppError);
    try {
      at(61);
    } catch (error) {
      expect((error as AppError).errors).toEqual([
        {
          path: "training.timeBudgetSeconds",
          message: expect.stringContaining(
            "from 1 to 60 (seconds an attempt may run (JOB_MAX_SECONDS))",
          ),
        },
      ]);
    }
  });
});

describe("PredictRequest", () => {
  it("accepts a batch with an optional version", () => {
    expect(parseRequest(predictSchema, { model: "xor", inputs: [[0, 1]] })).toEqual({
      model: "xor",
      inputs: [[0, 1]],
    });
  });

  it("leaves raw values and named rows to the version's preprocessing", () => {
    // A null is a missing value, a string a category: the prediction service checks them
    // against the version (one without preprocessing refuses them, naming the cell).
    const raw = { model: "iris", inputs: [[5.1, null, "red"], { petal_length: 1.4 }] };
    expect(parseRequest(predictSchema, raw)).toEqual(raw);
  });

  it.each(badPredictRequests)("rejects %s", (_name, body, path, fragment) => {
    const issues = issuesOf(predictSchema, body);
    const issue = issues.find((i) => i.path === path);
    expect(issue, `no issue at ${path}; got ${JSON.stringify(issues)}`).toBeDefined();
    expect(issue!.message).toContain(fragment);
  });
});
