/**
 * The gRPC transport: nnserve.v1 (Training, Prediction, Models, Studies...), the Open Inference Protocol
 * (inference.GRPCInferenceService), the standard health service following readiness, and server
 * reflection over all of them. Built by a function like the REST app; startNnserve (src/app.ts)
 * binds it next to HTTP and closes it in the same shutdown.
 */
import { Server, ServerCredentials, type ServerInterceptor } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import type { Config } from "../../platform/config.ts";
import type { Logger } from "../../platform/logger.ts";
import { createInferenceService } from "../../prediction/inference.ts";
import { createJobWatch, type JobWatch } from "../../training/watch.ts";
import { createRequestSchemas } from "../request-schemas.ts";
import type { Services } from "../services.ts";
import { datasetsHandlers } from "./datasets.ts";
import { createHealthMonitor } from "./health.ts";
import { inferenceHandlers } from "./inference.ts";
import { lifecycleHandlers } from "./lifecycle.ts";
import { modelsHandlers } from "./models.ts";
import { operateHandlers } from "./operate.ts";
import { predictionHandlers } from "./prediction.ts";
import {
  ERROR_PROTO_FILES,
  HEALTH_PROTO_DIR,
  type LoadedProtos,
  loadProtos,
  PROTO_DIR,
  PROTO_FILES,
} from "./protos.ts";
import { fileDescriptorProtos } from "./reflection-descriptors.ts";
import { studiesHandlers } from "./studies.ts";
import { trainingHandlers } from "./training.ts";

/** The services always served, by full name, as reflection and the health service know them. */
export const SERVICE_NAMES = [
  "nnserve.v1.Training",
  "nnserve.v1.Prediction",
  "nnserve.v1.Models",
  "nnserve.v1.Datasets",
  "nnserve.v1.Operate",
  "inference.GRPCInferenceService",
] as const;

/** Served when the process has their feature (createServices builds them everywhere). */
export const OPTIONAL_SERVICE_NAMES = ["nnserve.v1.Lifecycle", "nnserve.v1.Studies"] as const;

export interface GrpcServerOptions {
  config: Config;
  logger: Logger;
  services: Services;
  /** The job watch to share with other transports; default: one of its own. */
  jobWatch?: JobWatch;
  /**
   * Run around every call, health and reflection included, in order: the place for concerns
   * that apply to all methods by path (authorization by `grpcRequirement`, metrics).
   */
  interceptors?: ServerInterceptor[];
}

export interface GrpcServer {
  /** Binds host:port (port 0 picks one); resolves to "host:port" as a client dials it. */
  listen(): Promise<string>;
  /** Health NOT_SERVING and open watches ended, without waiting for the rest of close(). */
  drain(): void;
  /**
   * drain(), then stop taking calls and wait up to `graceMs` for those in flight; whatever is
   * left is cancelled. Idempotent.
   */
  close(graceMs?: number): Promise<void>;
  /** WatchJob loops still running; 0 once every stream has ended. */
  activeWatches(): number;
}

export function createGrpcServer({
  config,
  logger: parentLogger,
  services,
  jobWatch = createJobWatch({ training: services.training }),
  interceptors = [],
}: GrpcServerOptions): GrpcServer {
  const logger = parentLogger.child({ transport: "grpc" });
  const { packageDefinition, grpc } = loadProtos();
  const server = new Server({
    "grpc.max_receive_message_length": config.grpc.maxMessageBytes,
    "grpc.max_send_message_length": config.grpc.maxMessageBytes,
    interceptors,
  });

  const shutdown = new AbortController();
  const watches = { active: 0 };
  const served = addFeatureServices(server, grpc, {
    config,
    logger,
    services,
    jobWatch,
    shutdown: shutdown.signal,
    watches,
  });
  const health = createHealthMonitor({
    readiness: services.readiness,
    services: served,
    pollMs: config.grpc.healthPollMs,
    logger,
  });
  health.implementation.addToServer(server);
  addReflection(server, packageDefinition);

  const drain = () => {
    health.stop();
    shutdown.abort();
  };

  let closing: Promise<void> | undefined;
  return {
    async listen() {
      await health.refresh();
      const address = await bind(server, config.grpc.host, config.grpc.port);
      health.start();
      logger.info({ address }, "gRPC server listening");
      return address;
    },
    drain,
    close(graceMs = 5_000) {
      closing ??= (async () => {
        drain();
        await shutdownWithin(server, graceMs, logger);
      })();
      return closing;
    },
    activeWatches: () => watches.active,
  };
}

interface FeatureWiring {
  config: Config;
  logger: Logger;
  services: Services;
  jobWatch: JobWatch;
  /** Aborted on drain: ends the open WatchJob streams. */
  shutdown: AbortSignal;
  watches: { active: number };
}

/** nnserve.v1's services and the Open Inference Protocol's, each mapping wire <-> domain. */
function addFeatureServices(
  server: Server,
  grpc: LoadedProtos["grpc"],
  { config, logger, services, jobWatch, shutdown, watches }: FeatureWiring,
): string[] {
  const served: string[] = [...SERVICE_NAMES];
  const schemas = createRequestSchemas(config.limits);
  server.addService(
    grpc.nnserve.v1.Training.service,
    trainingHandlers({
      training: services.training,
      schemas,
      logger,
      jobWatch,
      shutdown,
      watches,
    }),
  );
  server.addService(
    grpc.nnserve.v1.Prediction.service,
    predictionHandlers({ prediction: services.prediction, schemas, logger }),
  );
  server.addService(
    grpc.nnserve.v1.Models.service,
    modelsHandlers({ models: services.models, modelFiles: services.modelFiles, logger }),
  );
  if (services.aliases && services.traffic) {
    server.addService(
      grpc.nnserve.v1.Lifecycle.service,
      lifecycleHandlers({ aliases: services.aliases, traffic: services.traffic, logger }),
    );
    served.push("nnserve.v1.Lifecycle");
  }
  server.addService(
    grpc.nnserve.v1.Datasets.service,
    datasetsHandlers({ datasets: services.datasets, limits: config.datasets, logger }),
  );
  if (services.studies) {
    server.addService(
      grpc.nnserve.v1.Studies.service,
      studiesHandlers({ studies: services.studies, schemas, logger, shutdown, watches }),
    );
    served.push("nnserve.v1.Studies");
  }
  server.addService(
    grpc.nnserve.v1.Operate.service,
    operateHandlers({ services, schemas, logger }),
  );
  const inference = createInferenceService({
    models: services.models,
    prediction: services.prediction,
    readiness: services.readiness,
    schemas,
    ...(services.aliases ? { aliases: services.aliases } : {}),
  });
  server.addService(
    grpc.inference.GRPCInferenceService.service,
    inferenceHandlers({ inference, logger }),
  );
  return served;
}

/** Server reflection over every proto served, health and the error details included. */
function addReflection(server: Server, packageDefinition: LoadedProtos["packageDefinition"]) {
  // Per-file descriptors as protoc writes them (reflection-descriptors.ts), not proto-loader's.
  const reflected = fileDescriptorProtos(
    [...PROTO_FILES, ...ERROR_PROTO_FILES, "health/v1/health.proto"],
    [PROTO_DIR, HEALTH_PROTO_DIR],
  );
  new ReflectionService({
    files: { fileDescriptorProtos: reflected },
  } as unknown as typeof packageDefinition).addToServer(server);
}

/** Binds host:port; resolves to "host:port" as a client dials it (port 0 picks one). */
async function bind(server: Server, host: string, port: number): Promise<string> {
  const bindHost = host.includes(":") ? `[${host}]` : host;
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${bindHost}:${port}`,
      ServerCredentials.createInsecure(),
      (error, boundPort) => (error ? reject(error) : resolve(boundPort)),
    );
  });
  const dialHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : bindHost;
  return `${dialHost}:${bound}`;
}

/** Stops taking calls and waits up to `graceMs` for those in flight, then cancels the rest. */
function shutdownWithin(server: Server, graceMs: number, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      logger.warn({ graceMs }, "gRPC calls still running at the end of the grace; cancelling them");
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
