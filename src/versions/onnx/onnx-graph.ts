/**
 * A small builder for one ONNX graph: nodes, initializers and typed inputs/outputs as the plain
 * objects protobufjs encodes (onnx-proto.ts). Internal tensors are named `nnserve/<op>_<n>`, so
 * they never collide with an input or output a client names.
 */
import { ATTRIBUTE_TYPE, DATA_TYPE } from "./onnx-proto.ts";

type Obj = Record<string, unknown>;
export type ElemType = (typeof DATA_TYPE)[keyof typeof DATA_TYPE];
/** A number is a fixed size, a string a symbolic one (the batch, "N"). */
export type Dim = number | string;

export type Attribute =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; ints: readonly number[] }
  | { name: string; strings: readonly string[] };

const utf8 = (s: string) => Buffer.from(s, "utf8");

function toAttribute(a: Attribute): Obj {
  if ("int" in a) return { name: a.name, type: ATTRIBUTE_TYPE.INT, i: a.int };
  if ("float" in a) return { name: a.name, type: ATTRIBUTE_TYPE.FLOAT, f: a.float };
  if ("ints" in a) return { name: a.name, type: ATTRIBUTE_TYPE.INTS, ints: [...a.ints] };
  return { name: a.name, type: ATTRIBUTE_TYPE.STRINGS, strings: a.strings.map(utf8) };
}

export function valueInfo(name: string, elemType: ElemType, dims: readonly Dim[]): Obj {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })),
        },
      },
    },
  };
}

export class GraphBuilder {
  readonly nodes: Obj[] = [];
  readonly initializers: Obj[] = [];
  readonly inputs: Obj[] = [];
  readonly outputs: Obj[] = [];
  #counter = 0;

  fresh(what: string): string {
    return `nnserve/${what}_${this.#counter++}`;
  }

  input(name: string, elemType: ElemType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: ElemType, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds a node; returns its (one) output, `output` when given, a fresh name otherwise. */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: readonly Attribute[] = [],
    options: { output?: string; domain?: string } = {},
  ): string {
    const output = options.output ?? this.fresh(opType.toLowerCase());
    this.nodes.push({
      opType,
      input: [...inputs],
      output: [output],
      name: output,
      ...(options.domain ? { domain: options.domain } : {}),
      attribute: attributes.map(toAttribute),
    });
    return output;
  }

  /** A float32 initializer from little-endian bytes (the engine's weight layout). */
  floatBytes(what: string, dims: readonly number[], bytes: Uint8Array): string {
    const name = this.fresh(what);
    this.initializers.push({ name, dims: [...dims], dataType: DATA_TYPE.FLOAT, rawData: bytes });
    return name;
  }

  floats(what: string, dims: readonly number[], values: readonly number[]): string {
    const name = this.fresh(what);
    this.initializers.push({ name, dims: [...dims], dataType: DATA_TYPE.FLOAT, floatData: values });
    return name;
  }

  doubles(what: string, dims: readonly number[], values: readonly number[]): string {
    const name = this.fresh(what);
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: DATA_TYPE.DOUBLE,
      doubleData: values,
    });
    return name;
  }

  int64s(what: string, dims: readonly number[], values: readonly number[]): string {
    const name = this.fresh(what);
    this.initializers.push({ name, dims: [...dims], dataType: DATA_TYPE.INT64, int64Data: values });
    return name;
  }

  strings(what: string, dims: readonly number[], values: readonly string[]): string {
    const name = this.fresh(what);
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: DATA_TYPE.STRING,
      stringData: values.map(utf8),
    });
    return name;
  }
}
