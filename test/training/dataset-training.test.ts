/**
 * A dataset request turned into the job's stored splits, as inline data would be stored: class
 * indices for sparse labels, one-hot rows for categoricalCrossentropy, 0/1 for one sigmoid,
 * standardised values for a regressor; the test split in the target's own terms.
 */
import { describe, expect, it } from "vitest";
import type { LoadedDataset } from "../../src/datasets/service.ts";
import { buildTable } from "../../src/datasets/table.ts";
import { bytesToFloat32, bytesToInt32 } from "../../src/platform/db/binary.ts";
import { prepareDatasetTraining } from "../../src/training/dataset-training.ts";
import { createRequestSchemas } from "../../src/transport/request-schemas.ts";

const limits = {
  maxEpochs: 100,
  maxLayers: 4,
  maxUnits: 64,
  maxParameters: 10_000,
  maxRows: 1000,
  maxPredictRows: 100,
};
const schemas = createRequestSchemas(limits);

function dataset(): LoadedDataset {
  const table = buildTable({
    header: ["x", "kind", "y"],
    rows: [
      ["1", "b", "2"],
      ["2", "a", "4"],
      ["3", "c", "6"],
      ["4", "b", "8"],
    ],
    source: "csv",
  });
  return { id: "d", name: "d", rows: table.rows, columns: table.columns, views: table.views };
}

const prepare = (body: Record<string, unknown>) =>
  prepareDatasetTraining(
    dataset(),
    schemas.trainRequest.parse({
      model: "m",
      dataset: "00000000-0000-4000-8000-000000000000",
      training: { epochs: 1, seed: 1, testSplit: 0 },
      ...body,
    }),
    1,
    { maxParameters: limits.maxParameters },
  );

describe("prepareDatasetTraining", () => {
  it("stores class indices in sorted class order for sparseCategoricalCrossentropy", () => {
    const out = prepare({
      target: "kind",
      network: { layers: [{ units: 3, activation: "softmax" }] },
      loss: "sparseCategoricalCrossentropy",
    });
    expect(out.inputs).toBe(2); // x, y
    expect(out.labels).toBe(true);
    const [train] = out.data;
    // Rows in the seeded order; each label indexes ["a", "b", "c"].
    const labels = Array.from(bytesToInt32(train!.labels!));
    const x = Array.from(bytesToFloat32(train!.inputs)).filter((_, i) => i % 2 === 0);
    const kindOf = (scaled: number) =>
      ["b", "a", "c", "b"][Math.round(scaled * Math.sqrt(1.25) + 2.5) - 1];
    expect(labels.map((l) => ["a", "b", "c"][l])).toEqual(x.map(kindOf));
  });

  it("stores one-hot rows for categoricalCrossentropy and 0/1 for one sigmoid", () => {
    const onehot = prepare({
      target: "kind",
      network: { layers: [{ units: 3, activation: "softmax" }] },
      loss: "categoricalCrossentropy",
    });
    const rows = Array.from(bytesToFloat32(onehot.data[0]!.targets!));
    expect(onehot.data[0]!.targetWidth).toBe(3);
    for (let r = 0; r < 4; r++)
      expect(rows.slice(r * 3, r * 3 + 3).reduce((a, b) => a + b)).toBe(1);
    expect(onehot.labels).toBe(false);

    // One sigmoid for two classes: the 0/1 target is the index into ["no", "yes"].
    const table = buildTable({
      header: ["x", "ok"],
      rows: [
        ["1", "yes"],
        ["2", "no"],
        ["3", "yes"],
      ],
      source: "csv",
    });
    const binary = prepareDatasetTraining(
      { id: "b", name: "b", rows: 3, columns: table.columns, views: table.views },
      schemas.trainRequest.parse({
        model: "m",
        dataset: "00000000-0000-4000-8000-000000000000",
        target: "ok",
        network: { layers: [{ units: 1, activation: "sigmoid" }] },
        loss: "binaryCrossentropy",
        training: { epochs: 1, seed: 1, testSplit: 0 },
      }),
      1,
      { maxParameters: 1000 },
    );
    expect(binary.data[0]!.targetWidth).toBe(1);
    const x = Array.from(bytesToFloat32(binary.data[0]!.inputs));
    const y = Array.from(bytesToFloat32(binary.data[0]!.targets!));
    // x = 2 (standardised to 0) is the "no" row.
    expect(y[x.findIndex((v) => Math.abs(v) < 1e-6)]).toBe(0);
    expect(y.filter((v) => v === 1)).toHaveLength(2);

    // Three classes cannot be told apart by one sigmoid: refused, naming the output units.
    expect(() =>
      prepare({
        target: "kind",
        network: { layers: [{ units: 1, activation: "sigmoid" }] },
        loss: "binaryCrossentropy",
      }),
    ).toThrow(/network\.layers\[0\]\.units/);
  });

  it("stores a regressor's targets standardised, and its test rows in the target's units", () => {
    const out = prepare({
      target: "y",
      features: ["x"],
      network: { layers: [{ units: 1, activation: "linear" }] },
      loss: "mse",
      training: { epochs: 1, seed: 1, testSplit: 0.5 },
    });
    const [train, test] = out.data;
    expect(train!.rows).toBe(2);
    expect(test).toMatchObject({ split: "test", rows: 2, targetWidth: 1 });
    const target = out.preprocessing.target;
    if (target.type !== "numeric") throw new Error("numeric target");
    const scaled = Array.from(bytesToFloat32(train!.targets!));
    const raw = scaled.map((t) => t * target.scale + target.center);
    const testValues = Array.from(bytesToFloat32(test!.targets!));
    // Together the two splits are y's four values, each once.
    expect([...raw.map(Math.round), ...testValues].sort((a, b) => a - b)).toEqual([2, 4, 6, 8]);
    expect(target.center).toBe((raw[0]! + raw[1]!) / 2);
  });
});
