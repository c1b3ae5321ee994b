/**
 * The Open Inference Protocol's binary tensor data extension over REST, on a whole in-process
 * server (real Postgres, a trained model): `Inference-Header-Content-Length: N`, N bytes of JSON,
 * then the little-endian bytes of the inputs with `parameters.binary_data_size`; outputs asked
 * for as binary come back the same way. Bodies are built byte by byte, as a client would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrainAccepted } from "../../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { clustersRequest } from "../../helpers/requests.ts";
import { startTestServer, type TestServer, waitForJob } from "../../helpers/server.ts";
import { testApp } from "./helpers.ts";

let db: TestDatabase;
let server: TestServer;

const ROWS = [
  [0.1, 0.2],
  [5.1, -0.2],
  [0.3, 4.8],
];
const INFER = "/v2/models/clusters/infer";

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  const trained = await server.http.post<TrainAccepted>("/train", clustersRequest("clusters"));
  expect(trained.status, JSON.stringify(trained.body)).toBe(202);
  await waitForJob(server.http, trained.body.jobId, (job) => job.status === "succeeded");
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: { binary_data_size: number };
  data?: number[];
}
interface InferJson {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Tensor[];
}

// ---------------------------------------------------------------------------------------------
// Bytes

const encoders = {
  FP32: [4, (b: Buffer, v: number, at: number) => b.writeFloatLE(v, at)],
  FP64: [8, (b: Buffer, v: number, at: number) => b.writeDoubleLE(v, at)],
  INT32: [4, (b: Buffer, v: number, at: number) => b.writeInt32LE(v, at)],
  INT64: [8, (b: Buffer, v: number, at: number) => b.writeBigInt64LE(BigInt(v), at)],
} as const;

/** Row-major elements as little-endian bytes of the datatype. */
function bytesOf(values: number[], datatype: keyof typeof encoders = "FP32"): Buffer {
  const [size, write] = encoders[datatype];
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    write(out, v, i * size);
  });
  return out;
}

/** A body of the extension: the JSON, then the binary parts, and the header giving the JSON's length. */
function binaryBody(json: unknown, ...parts: Buffer[]) {
  const head = Buffer.from(JSON.stringify(json));
  return {
    body: Buffer.concat([head, ...parts]),
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(head.byteLength),
    },
  };
}

interface RawResponse {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

async function post(
  path: string,
  body: Buffer | string,
  headers: Record<string, string>,
): Promise<RawResponse> {
  const response = await fetch(`${server.url}${path}`, { method: "POST", headers, body });
  return {
    status: response.status,
    headers: response.headers,
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}

const postBinary = (json: unknown, ...parts: Buffer[]) => {
  const { body, headers } = binaryBody(json, ...parts);
  return post(INFER, body, headers);
};

const postJson = (json: unknown) =>
  post(INFER, JSON.stringify(json), { "content-type": "application/json" });

/** A reply as its JSON and the bytes after it (none for a plain JSON reply). */
function split(response: RawResponse): { json: InferJson; binary: Buffer } {
  expect(response.status, response.bytes.toString()).toBe(200);
  const header = response.headers.get("inference-header-content-length");
  const length = header === null ? response.bytes.byteLength : Number(header);
  return {
    json: JSON.parse(response.bytes.subarray(0, length).toString("utf8")),
    binary: response.bytes.subarray(length),
  };
}

/** The elements of a binary output, read back as the JSON would give them. */
function decode(bytes: Buffer, datatype: string): number[] {
  const out: number[] = [];
  if (datatype === "FP32") for (let i = 0; i < bytes.length; i += 4) out.push(bytes.readFloatLE(i));
  else for (let i = 0; i < bytes.length; i += 8) out.push(Number(bytes.readBigInt64LE(i)));
  return out;
}

/** The reply's outputs with every binary output decoded into `data`, and its parameters gone. */
function decodedOutputs(response: RawResponse): Tensor[] {
  const { json, binary } = split(response);
  let offset = 0;
  return json.outputs.map(({ parameters, ...tensor }) => {
    if (!parameters) return tensor;
    const bytes = binary.subarray(offset, offset + parameters.binary_data_size);
    offset += parameters.binary_data_size;
    return { ...tensor, data: decode(bytes, tensor.datatype) };
  });
}

const input = (extra: Record<string, unknown>, shape = [3, 2], datatype = "FP32") => ({
  name: "input",
  shape,
  datatype,
  ...extra,
});
const binaryInput = (bytes: number, shape = [3, 2], datatype = "FP32") =>
  input({ parameters: { binary_data_size: bytes } }, shape, datatype);

/** Predictions run so far on the model, from /metrics. */
async function predictionsRun(): Promise<number> {
  const metrics = await server.http.get<string>("/metrics");
  return metrics.body
    .split("\n")
    .filter((line) => line.startsWith('nnserve_inference_requests_total{model="clusters"'))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

// ---------------------------------------------------------------------------------------------

describe("binary inputs", () => {
  it("answers a binary FP32 request exactly as the same request in JSON", async () => {
    const json = await postJson({ id: "a", inputs: [input({ data: ROWS.flat() })] });
    const binary = await postBinary({ id: "a", inputs: [binaryInput(24)] }, bytesOf(ROWS.flat()));
    expect(binary.headers.get("content-type")).toMatch(/^application\/json/);
    expect(binary.headers.get("inference-header-content-length")).toBeNull();
    expect(split(binary).json).toEqual(split(json).json);
    expect(binary.bytes.toString()).toBe(json.bytes.toString());
  });

  it("takes the binary body with Content-Type application/json too, and on a versioned path", async () => {
    const expected = split(await postJson({ inputs: [input({ data: ROWS.flat() })] })).json;
    const { body, headers } = binaryBody({ inputs: [binaryInput(24)] }, bytesOf(ROWS.flat()));
    const asJson = await post(INFER, body, { ...headers, "content-type": "application/json" });
    expect(split(asJson).json).toEqual(expected);
    const versioned = await post("/v2/models/clusters/versions/1/infer", body, headers);
    expect(split(versioned).json).toEqual(expected);
  });

  it("takes a binary body with any Content-Type, or none, when the header is there", async () => {
    const expected = split(await postJson({ inputs: [input({ data: ROWS.flat() })] })).json;
    const { body, headers } = binaryBody({ inputs: [binaryInput(24)] }, bytesOf(ROWS.flat()));
    const length = headers["inference-header-content-length"];
    const untyped = await post(INFER, body, { "inference-header-content-length": length });
    expect(split(untyped).json).toEqual(expected);
    const form = await post(INFER, body, {
      "content-type": "application/x-www-form-urlencoded",
      "inference-header-content-length": length,
    });
    expect(split(form).json).toEqual(expected);
    // Without the header such a body is still refused, as everywhere else.
    const plain = await post(INFER, body, { "content-type": "text/plain" });
    expect(plain.status).toBe(415);
    expect(JSON.parse(plain.bytes.toString()).error).toMatch(/Unsupported content type/);
  });

  it("converts FP64, INT32 and INT64 binary inputs to the answer of FP32", async () => {
    const whole = [0, 0, 5, 0, 0, 5];
    const expected = split(await postJson({ inputs: [input({ data: whole })] })).json;
    for (const datatype of ["FP64", "INT32", "INT64"] as const) {
      const bytes = bytesOf(whole, datatype);
      const response = await postBinary(
        { inputs: [binaryInput(bytes.byteLength, [3, 2], datatype)] },
        bytes,
      );
      expect(split(response).json, datatype).toEqual(expected);
    }
  });
});

describe("binary outputs", () => {
  const request = (extra: Record<string, unknown>) => ({
    inputs: [input({ data: ROWS.flat() })],
    ...extra,
  });
  let jsonOutputs: Tensor[];
  beforeAll(async () => {
    jsonOutputs = split(await postJson(request({}))).json.outputs;
    expect(jsonOutputs.map((o) => o.name)).toEqual(["output", "classes"]);
  });

  it("returns every output as binary with binary_data_output, with the header and sizes", async () => {
    const response = await postJson(request({ parameters: { binary_data_output: true } }));
    expect(response.headers.get("content-type")).toBe("application/octet-stream");
    const { json, binary } = split(response);
    expect(response.headers.get("inference-header-content-length")).toBe(
      String(response.bytes.byteLength - binary.byteLength),
    );
    expect(json.outputs).toEqual([
      { name: "output", datatype: "FP32", shape: [3, 3], parameters: { binary_data_size: 36 } },
      { name: "classes", datatype: "INT64", shape: [3], parameters: { binary_data_size: 24 } },
    ]);
    expect(binary.byteLength).toBe(36 + 24);
    expect(decodedOutputs(response)).toEqual(jsonOutputs);
  });

  it("returns one output as binary with its binary_data, the other as JSON", async () => {
    const response = await postJson(
      request({
        outputs: [{ name: "classes", parameters: { binary_data: true } }, { name: "output" }],
      }),
    );
    const { json, binary } = split(response);
    expect(json.outputs[0]).toEqual({
      name: "classes",
      datatype: "INT64",
      shape: [3],
      parameters: { binary_data_size: 24 },
    });
    expect(json.outputs[1]).toEqual(jsonOutputs[0]);
    expect(binary.byteLength).toBe(24);
    expect(decodedOutputs(response)).toEqual([jsonOutputs[1], jsonOutputs[0]]);
  });

  it("lets an output's binary_data false override binary_data_output", async () => {
    const response = await postJson(
      request({
        parameters: { binary_data_output: true },
        outputs: [{ name: "output" }, { name: "classes", parameters: { binary_data: false } }],
      }),
    );
    const { json, binary } = split(response);
    expect(json.outputs[0]!.parameters).toEqual({ binary_data_size: 36 });
    expect(json.outputs[0]!.data).toBeUndefined();
    expect(json.outputs[1]).toEqual(jsonOutputs[1]);
    expect(binary.byteLength).toBe(36);
    expect(decodedOutputs(response)).toEqual(jsonOutputs);
  });

  it("answers binary inputs with binary outputs when asked", async () => {
    const response = await postBinary(
      { inputs: [binaryInput(24)], parameters: { binary_data_output: true } },
      bytesOf(ROWS.flat()),
    );
    expect(response.headers.get("content-type")).toBe("application/octet-stream");
    expect(decodedOutputs(response)).toEqual(jsonOutputs);
  });

  it("answers plain JSON when binary_data_output is false", async () => {
    const response = await postJson(request({ parameters: { binary_data_output: false } }));
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(split(response).json.outputs).toEqual(jsonOutputs);
  });
});

describe("binary errors", () => {
  const rows = bytesOf(ROWS.flat());

  /** Each error is a 400 `{"error"}` matching `match`, and no prediction ran. */
  async function expectRefused(send: () => Promise<RawResponse>, match: RegExp) {
    const before = await predictionsRun();
    expect(before, "the earlier tests ran predictions").toBeGreaterThan(0);
    const response = await send();
    expect(response.status, response.bytes.toString()).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = JSON.parse(response.bytes.toString());
    expect(Object.keys(body)).toEqual(["error"]);
    expect(body.error).toMatch(match);
    expect(await predictionsRun()).toBe(before);
    return body.error as string;
  }

  const withHeader = (value: string, body = Buffer.concat([Buffer.from("{}"), rows])) =>
    post(INFER, body, {
      "content-type": "application/octet-stream",
      "inference-header-content-length": value,
    });

  it("rejects a header that is not a whole number, or longer than the body", async () => {
    for (const value of ["abc", "-1", "1.5", "", "1e2"]) {
      await expectRefused(
        () => withHeader(value),
        /Inference-Header-Content-Length must be a whole number/,
      );
    }
    const { body } = binaryBody({ inputs: [binaryInput(24)] }, rows);
    await expectRefused(
      () => withHeader(String(body.byteLength + 1), body),
      new RegExp(`Inference-Header-Content-Length .*at most the body's ${body.byteLength}`),
    );
  });

  it("rejects an application/octet-stream body without the header, naming it", async () => {
    const { body } = binaryBody({ inputs: [binaryInput(24)] }, rows);
    await expectRefused(
      () => post(INFER, body, { "content-type": "application/octet-stream" }),
      /application\/octet-stream body needs the Inference-Header-Content-Length header/,
    );
  });

  it("rejects a JSON part that is not JSON", async () => {
    const { body } = binaryBody({ inputs: [binaryInput(24)] }, rows);
    await expectRefused(() => withHeader("10", body), /JSON part of the body .*not valid JSON/);
    await expectRefused(() => withHeader("0", body), /not valid JSON/);
  });

  it("rejects an input with both data and binary_data_size, and one with neither", async () => {
    await expectRefused(
      () =>
        postBinary(
          { inputs: [input({ data: ROWS.flat(), parameters: { binary_data_size: 24 } })] },
          rows,
        ),
      /inputs\[0\] has both data and parameters\.binary_data_size/,
    );
    await expectRefused(
      () => postBinary({ inputs: [input({})] }),
      /inputs\[0\]\.data is required, or parameters\.binary_data_size/,
    );
  });

  it("rejects a binary_data_size that is not a whole number >= 0", async () => {
    for (const size of [-4, 1.5, "24", null]) {
      await expectRefused(
        () => postBinary({ inputs: [input({ parameters: { binary_data_size: size } })] }, rows),
        /inputs\[0\]\.parameters\.binary_data_size must be a whole number of bytes/,
      );
    }
  });

  it("rejects sizes that ask for more bytes than follow the JSON", async () => {
    await expectRefused(
      () => postBinary({ inputs: [binaryInput(24)] }, rows.subarray(0, 20)),
      /inputs\[0\]\.parameters\.binary_data_size is 24 bytes from byte 0 of the binary data, but only 20/,
    );
  });

  it("rejects bytes after the JSON that no input's size accounts for", async () => {
    await expectRefused(
      () => postBinary({ inputs: [binaryInput(24)] }, rows, Buffer.alloc(4)),
      /inputs\[\*\]\.parameters\.binary_data_size add up to 24 bytes, but 28 bytes follow the JSON/,
    );
    await expectRefused(
      () => postBinary({ inputs: [input({ data: ROWS.flat() })] }, rows),
      /add up to 0 bytes, but 24 bytes follow the JSON/,
    );
  });

  it("rejects a binary_data_size in a plain JSON body, which has no binary data", async () => {
    await expectRefused(
      () => postJson({ inputs: [binaryInput(24)] }),
      /inputs\[0\]\.parameters\.binary_data_size needs the tensor's bytes after the JSON, and the Inference-Header-Content-Length header/,
    );
  });

  it("rejects binary data whose element count does not match the shape", async () => {
    await expectRefused(
      () => postBinary({ inputs: [binaryInput(20)] }, rows.subarray(0, 20)),
      /inputs\[0\]\.parameters\.binary_data_size has 20 bytes \(4 per FP32 element\); shape \[3, 2\] needs 6 elements/,
    );
    await expectRefused(
      () => postBinary({ inputs: [binaryInput(8, [1, 2], "FP64")] }, rows.subarray(0, 8)),
      /binary_data_size has 8 bytes \(8 per FP64 element\); shape \[1, 2\] needs 2 elements/,
    );
  });

  it("names a binary element that is not finite by its index", async () => {
    const bad = bytesOf([1, Number.NaN, 3, 4]);
    await expectRefused(
      () => postBinary({ inputs: [binaryInput(16, [2, 2])] }, bad),
      /inputs\[0\]\.binary_data\[1\]/,
    );
  });

  it("rejects binary_data and binary_data_output that are not true or false", async () => {
    const data = input({ data: ROWS.flat() });
    await expectRefused(
      () =>
        postJson({ inputs: [data], outputs: [{ name: "output", parameters: { binary_data: 1 } }] }),
      /outputs\[0\]\.parameters\.binary_data must be true or false/,
    );
    await expectRefused(
      () => postJson({ inputs: [data], parameters: { binary_data_output: "yes" } }),
      /^parameters\.binary_data_output must be true or false/,
    );
  });
});

describe("without a database", () => {
  it("applies the body limit to binary bodies", async () => {
    const { app } = testApp({ BODY_LIMIT_BYTES: "1024" });
    try {
      const { body, headers } = binaryBody(
        { inputs: [binaryInput(2048, [256, 2])] },
        Buffer.alloc(2048),
      );
      const response = await app.inject({
        method: "POST",
        url: "/v2/models/m/infer",
        body,
        headers,
      });
      expect(response.statusCode).toBe(413);
      expect(Object.keys(response.json())).toEqual(["error"]);
    } finally {
      await app.close();
    }
  });

  it("documents the infer request, its response and the binary form in the OpenAPI document", async () => {
    const { app } = testApp();
    try {
      const doc = (await app.inject({ method: "GET", url: "/docs/json" })).json();
      for (const path of [
        "/v2/models/{name}/infer",
        "/v2/models/{name}/versions/{version}/infer",
      ]) {
        const operation = doc.paths[path].post;
        expect(operation.description).toMatch(/Inference-Header-Content-Length/);
        const response = operation.responses["200"].content["application/json"].schema;
        expect(Object.keys(response.properties)).toEqual([
          "model_name",
          "model_version",
          "id",
          "parameters",
          "outputs",
        ]);
        const output = response.properties.outputs.items;
        expect(Object.keys(output.properties)).toEqual(
          expect.arrayContaining(["name", "datatype", "shape", "parameters", "data"]),
        );
        const input =
          operation.requestBody.content["application/json"].schema.properties.inputs.items;
        expect(input.properties.parameters.properties).toHaveProperty("binary_data_size");
      }
    } finally {
      await app.close();
    }
  });
});
