/**
 * Real grpc-js clients of a test server's gRPC address, typed by the generated types, and small
 * promise helpers: a unary call, a whole server stream, the status of a failed call.
 */
import {
  type ClientReadableStream,
  credentials,
  loadPackageDefinition,
  type Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { expect } from "vitest";
import type { TrainRequest } from "../../../src/generated/grpc/nnserve/v1/TrainRequest.ts";
import type { FieldIssue } from "../../../src/platform/errors.ts";
import { loadProtos } from "../../../src/transport/grpc/protos.ts";
import { FIELD_ISSUES_METADATA } from "../../../src/transport/grpc/status.ts";
import type { InlineTrainRequest } from "../../helpers/requests.ts";

export { status };

export function grpcClients(address: string) {
  const { grpc } = loadProtos();
  const insecure = credentials.createInsecure();
  const clients = {
    training: new grpc.nnserve.v1.Training(address, insecure),
    prediction: new grpc.nnserve.v1.Prediction(address, insecure),
    models: new grpc.nnserve.v1.Models(address, insecure),
    datasets: new grpc.nnserve.v1.Datasets(address, insecure),
    inference: new grpc.inference.GRPCInferenceService(address, insecure),
    health: new grpc.grpc.health.v1.Health(address, insecure),
  };
  return {
    ...clients,
    close() {
      for (const client of Object.values(clients)) client.close();
    },
  };
}

export type GrpcClients = ReturnType<typeof grpcClients>;

type Callback<T> = (error: ServiceError | null, value?: T) => void;

/** `await unary<Job__Output>((cb) => clients.training.GetJob({ id }, cb))` */
export function unary<T>(start: (callback: Callback<T>) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value as T)));
  });
}

/** The ServiceError a call fails with; fails the test if it succeeds. */
export async function failure(call: Promise<unknown>): Promise<ServiceError> {
  try {
    const value = await call;
    throw new Error(`expected the call to fail; it answered ${JSON.stringify(value)}`);
  } catch (error) {
    if (!(error instanceof Error) || !("code" in error)) throw error;
    return error as ServiceError;
  }
}

export function fieldIssues(metadata: Metadata): FieldIssue[] {
  const [raw] = metadata.get(FIELD_ISSUES_METADATA);
  return raw ? (JSON.parse(String(raw)) as FieldIssue[]) : [];
}

/** Every message of a server stream until it ends; rejects with the ServiceError it ends with. */
export function readAll<T>(stream: ClientReadableStream<T>, onMessage?: (message: T) => void) {
  return new Promise<T[]>((resolve, reject) => {
    const messages: T[] = [];
    stream.on("data", (message: T) => {
      messages.push(message);
      onMessage?.(message);
    });
    stream.on("error", reject);
    stream.on("end", () => resolve(messages));
  });
}

/** The JSON body of POST /train as a TrainRequest message (rows flattened, width given). */
export function trainMessage(body: InlineTrainRequest, idempotencyKey?: string): TrainRequest {
  const rows = (matrix: number[][]) => ({ width: matrix[0]?.length ?? 0, values: matrix.flat() });
  const { data, ...rest } = body;
  return {
    ...(rest as Omit<TrainRequest, "data">),
    data: {
      inputs: rows(data.inputs),
      ...(data.targets && { targets: rows(data.targets) }),
      ...(data.labels && { labels: data.labels }),
    },
    ...(idempotencyKey !== undefined && { idempotencyKey }),
  };
}

/** Float32 values as little-endian bytes, and back. */
export function float32Bytes(values: readonly number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    bytes.writeFloatLE(v, i * 4);
  });
  return bytes;
}

export function fromFloat32Bytes(bytes: Buffer): number[] {
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

/** A client of grpc.reflection.v1.ServerReflection, as grpcurl and Postman use it. */
export function reflectionClient(address: string) {
  const dir = new URL("../../../node_modules/@grpc/reflection/build/proto/", import.meta.url)
    .pathname;
  const definition = loadSync("grpc/reflection/v1/reflection.proto", {
    includeDirs: [dir],
    keepCase: true,
    defaults: true,
    oneofs: true,
  });
  // biome-ignore lint/suspicious/noExplicitAny: the reflection protocol's types are not generated
  const loaded = loadPackageDefinition(definition) as any;
  return new loaded.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
}

/** Asks a reflection client one question and returns its one answer. */
// biome-ignore lint/suspicious/noExplicitAny: see reflectionClient
export function reflect(client: any, request: Record<string, string>): Promise<any> {
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on("data", (response: unknown) => {
      resolve(response);
      call.end();
    });
    call.on("error", reject);
    call.write(request);
  });
}

/** The `name` (field 1) of a serialized FileDescriptorProto. */
export function descriptorFileName(bytes: Buffer): string {
  expect(bytes[0]).toBe(0x0a);
  let length = 0;
  let shift = 0;
  let i = 1;
  for (;;) {
    const byte = bytes[i++]!;
    length |= (byte & 0x7f) << shift;
    if (byte < 0x80) break;
    shift += 7;
  }
  return bytes.subarray(i, i + length).toString("utf8");
}
