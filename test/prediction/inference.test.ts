/**
 * The transport-neutral side of the Open Inference Protocol (src/prediction/inference.ts), which
 * the gRPC and REST bindings share: tensors to rows, outputs to tensors, metadata, versions.
 */
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/platform/errors.ts";
import {
  encodeRaw,
  type InferInput,
  outputTensors,
  parseVersion,
  tensorToRows,
  versionTensors,
} from "../../src/prediction/inference.ts";

const values = (datatype: string, shape: number[], data: number[]): InferInput => ({
  name: "input",
  datatype,
  shape,
  data: { kind: "values", values: data },
  dataPath: "inputs[0].data",
});

function raw(datatype: string, shape: number[], data: number[]): InferInput {
  const size = datatype === "FP64" || datatype === "INT64" ? 8 : 4;
  const bytes = Buffer.alloc(data.length * size);
  data.forEach((v, i) => {
    if (datatype === "FP32") bytes.writeFloatLE(v, i * 4);
    else if (datatype === "FP64") bytes.writeDoubleLE(v, i * 8);
    else if (datatype === "INT32") bytes.writeInt32LE(v, i * 4);
    else bytes.writeBigInt64LE(BigInt(v), i * 8);
  });
  return { name: "input", datatype, shape, data: { kind: "raw", bytes }, dataPath: "raw[0]" };
}

function issues(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return (error as AppError).errors;
  }
  throw new Error("expected a validation error");
}

describe("tensorToRows", () => {
  it("reads [rows, width] tensors of each datatype, as values or raw little-endian bytes", () => {
    const rows = [
      [1, 2, 3],
      [-4, 5, 6],
    ];
    for (const datatype of ["FP32", "FP64", "INT32", "INT64"]) {
      expect(tensorToRows(values(datatype, [2, 3], rows.flat())), datatype).toEqual(rows);
      expect(tensorToRows(raw(datatype, [2, 3], rows.flat())), datatype).toEqual(rows);
    }
    // 64-bit integers arrive as decimal strings from proto-loader.
    expect(
      tensorToRows({
        ...values("INT64", [1, 2], []),
        data: { kind: "values", values: ["7", "-1"] },
      }),
    ).toEqual([[7, -1]]);
    expect(tensorToRows(values("FP32", ["1", "2"] as never, [0.5, 1]))).toEqual([[0.5, 1]]);
  });

  it("names the datatype, the shape or the data that is wrong", () => {
    expect(issues(() => tensorToRows(values("BYTES", [1, 1], [1])))).toEqual([
      {
        path: "inputs[0].datatype",
        message: 'must be one of FP32, FP64, INT32, INT64; got "BYTES"',
      },
    ]);
    expect(issues(() => tensorToRows(values("FP32", [1, 2, 1], [1, 2])))[0]!.path).toBe(
      "inputs[0].shape",
    );
    expect(issues(() => tensorToRows(values("FP32", [-1, 2], [1, 2])))[0]!.path).toBe(
      "inputs[0].shape",
    );
    expect(issues(() => tensorToRows(values("FP32", [2, 2], [1, 2, 3])))).toEqual([
      { path: "inputs[0].data", message: "has 3 elements; shape [2, 2] needs 4 elements" },
    ]);
    expect(issues(() => tensorToRows(raw("FP32", [1, 3], [1, 2])))).toEqual([
      {
        path: "raw[0]",
        message: "has 8 bytes (4 per FP32 element); shape [1, 3] needs 3 elements",
      },
    ]);
  });
});

describe("outputs", () => {
  const response = {
    rows: 2,
    units: 1,
    outputs: new Float32Array([0.25, 0.75]),
    classes: [0, 1],
  };

  it("gives every output by default, or those asked for in their order", () => {
    expect(outputTensors(response, []).map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ["output", "FP32", [2, 1]],
      ["classes", "INT64", [2]],
    ]);
    const [classes, output] = outputTensors(response, ["classes", "output"]);
    expect(classes!.data).toEqual([0, 1]);
    expect(Array.from(output!.data)).toEqual([0.25, 0.75]);
    expect(issues(() => outputTensors({ ...response, classes: undefined }, ["classes"]))).toEqual([
      { path: "outputs[0].name", message: 'the model has no output "classes"; it has "output"' },
    ]);
  });

  it("encodes FP32 and INT64 outputs as little-endian bytes", () => {
    const [output, classes] = outputTensors(response, []);
    const fp32 = Buffer.from(encodeRaw(output!));
    expect([fp32.readFloatLE(0), fp32.readFloatLE(4)]).toEqual([0.25, 0.75]);
    const int64 = Buffer.from(encodeRaw(classes!));
    expect([int64.readBigInt64LE(0), int64.readBigInt64LE(8)]).toEqual([0n, 1n]);
  });
});

describe("metadata and versions", () => {
  it("describes input [-1, width] and output [-1, units], with classes for classifiers", () => {
    const network = (activation: "softmax" | "linear") => ({
      inputs: 4,
      layers: [
        { units: 8, activation: "relu" as const },
        { units: 3, activation },
      ],
    });
    expect(versionTensors({ network: network("linear"), loss: "mse" })).toEqual({
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
      outputs: [{ name: "output", datatype: "FP32", shape: [-1, 3] }],
    });
    expect(
      versionTensors({ network: network("softmax"), loss: "categoricalCrossentropy" }).outputs,
    ).toEqual([
      { name: "output", datatype: "FP32", shape: [-1, 3] },
      { name: "classes", datatype: "INT64", shape: [-1] },
    ]);
  });

  it('reads "" as routed, digits as a version, a name as an alias, and rejects the rest', () => {
    expect(parseVersion("")).toEqual({});
    expect(parseVersion("12")).toEqual({ version: 12 });
    expect(parseVersion("staging")).toEqual({ alias: "staging" });
    for (const bad of ["0", "-1", "01", "Prod", "a/b", " "]) {
      expect(issues(() => parseVersion(bad))[0]!.path, bad).toBe("model_version");
    }
  });
});
