/**
 * The .proto files the gRPC server serves, loaded once with the options the generated types in
 * src/generated/grpc were made with (scripts/grpc-generate.sh passes the same flags): camelCase
 * field names, 64-bit integers as strings, enums as their names, defaults filled in, and the
 * name of the set field of each oneof.
 */
import { fileURLToPath } from "node:url";
import { loadPackageDefinition } from "@grpc/grpc-js";
import { loadSync, type Options, type PackageDefinition } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import type { ProtoGrpcType as DatasetsProto } from "../../generated/grpc/datasets.ts";
import type { ProtoGrpcType as InferenceProto } from "../../generated/grpc/grpc_predict_v2.ts";
import type { ProtoGrpcType as HealthProto } from "../../generated/grpc/health.ts";
import type { ProtoGrpcType as LifecycleProto } from "../../generated/grpc/lifecycle.ts";
import type { ProtoGrpcType as ModelsProto } from "../../generated/grpc/models.ts";
import type { ProtoGrpcType as OperateProto } from "../../generated/grpc/operate.ts";
import type { ProtoGrpcType as PredictionProto } from "../../generated/grpc/prediction.ts";
import type { ProtoGrpcType as StudiesProto } from "../../generated/grpc/studies.ts";
import type { ProtoGrpcType as TrainingProto } from "../../generated/grpc/training.ts";

export const PROTO_DIR = fileURLToPath(new URL("../../../proto", import.meta.url));
/** grpc-health-check ships grpc/health/v1/health.proto; its include folder. */
export const HEALTH_PROTO_DIR = healthProtoPath.replace(/health[\\/]v1[\\/]health\.proto$/, "");

export const PROTO_FILES = [
  "nnserve/v1/training.proto",
  "nnserve/v1/prediction.proto",
  "nnserve/v1/models.proto",
  "nnserve/v1/datasets.proto",
  "nnserve/v1/lifecycle.proto",
  "nnserve/v1/operate.proto",
  "nnserve/v1/studies.proto",
  "inference/grpc_predict_v2.proto",
] as const;

/** Google's rich error model (the subset sent in `grpc-status-details-bin`). */
export const ERROR_PROTO_FILES = ["google/rpc/status.proto", "google/rpc/error_details.proto"];

export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR, HEALTH_PROTO_DIR],
};

export type NnserveProtos = TrainingProto &
  PredictionProto &
  ModelsProto &
  DatasetsProto &
  LifecycleProto &
  OperateProto &
  StudiesProto &
  InferenceProto &
  HealthProto;

export interface LoadedProtos {
  /** Everything served, health and the error details included: what reflection describes. */
  packageDefinition: PackageDefinition;
  grpc: NnserveProtos;
}

export function loadProtos(): LoadedProtos {
  const packageDefinition = loadSync(
    [...PROTO_FILES, ...ERROR_PROTO_FILES, "health/v1/health.proto"],
    PROTO_LOADER_OPTIONS,
  );
  return {
    packageDefinition,
    grpc: loadPackageDefinition(packageDefinition) as unknown as NnserveProtos,
  };
}
