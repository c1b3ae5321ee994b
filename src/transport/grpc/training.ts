/**
 * nnserve.v1.Training: each call parses its request with the shared schema and calls one
 * TrainingService function, like the REST routes in src/transport/http/routes/{train,jobs}.ts.
 *
 * WatchJob follows the job with the shared JobWatch (services/job-watch.ts, also behind the REST
 * event stream): one poller per job however many watch it, and a late watcher first gets
 * everything that already happened. Each update sends the epochs not sent yet, then the job if
 * it changed; the stream ends after the job's final state. A cancelled call (client cancel,
 * deadline) stops its watch at once.
 */
import { once } from "node:events";
import type { ServerWritableStream } from "@grpc/grpc-js";
import { z } from "zod";
import type { JobEvent } from "../../generated/grpc/nnserve/v1/JobEvent.ts";
import type { TrainingHandlers } from "../../generated/grpc/nnserve/v1/Training.ts";
import type { WatchJobRequest__Output } from "../../generated/grpc/nnserve/v1/WatchJobRequest.ts";
import { unavailable } from "../../platform/errors.ts";
import type { Logger } from "../../platform/logger.ts";
import { parseRequest } from "../../platform/validation/parse.ts";
import { jobListQuerySchema, jobParamsSchema } from "../../training/jobs/schemas.ts";
import { idempotencyKeySchema } from "../../training/request.ts";
import type { JobWatch } from "../../training/watch.ts";
import type { RequestSchemas } from "../request-schemas.ts";
import type { TrainingService } from "../services.ts";
import { callerOf } from "./auth-guard.ts";
import {
  enumName,
  enumValue,
  epochToMessage,
  jobToMessage,
  trainRequestFromMessage,
} from "./convert.ts";
import { toGrpcError, unary } from "./status.ts";

const idempotencyKeyField = z.object({ idempotencyKey: idempotencyKeySchema });

export interface TrainingHandlerDeps {
  training: TrainingService;
  schemas: RequestSchemas;
  logger: Logger;
  jobWatch: JobWatch;
  /** Aborted when the server shuts down: watches end with UNAVAILABLE. */
  shutdown: AbortSignal;
  /** Counts the watch loops running, so tests (and metrics) can see none is left behind. */
  watches: { active: number };
}

export function trainingHandlers({
  training,
  schemas,
  logger,
  jobWatch,
  shutdown,
  watches,
}: TrainingHandlerDeps): TrainingHandlers {
  const jobId = (id: string) => parseRequest(jobParamsSchema, { id }).id;

  async function watchJob(call: ServerWritableStream<WatchJobRequest__Output, JobEvent>) {
    const stop = new AbortController();
    const onCancelled = () => stop.abort();
    const onShutdown = () => stop.abort();
    call.on("cancelled", onCancelled);
    shutdown.addEventListener("abort", onShutdown);
    watches.active++;

    const send = async (event: JobEvent) => {
      if (!call.write(event)) await once(call, "drain", { signal: stop.signal });
    };

    try {
      const id = jobId(call.request.id);
      for await (const update of jobWatch.watch(id, { signal: stop.signal })) {
        for (const epoch of update.epochs) await send({ epoch: epochToMessage(epoch) });
        if (update.jobChanged) await send({ job: jobToMessage(update.job) });
        if (update.finished) {
          call.end();
          return;
        }
      }
      throw new DOMException("stopped", "AbortError");
    } catch (error) {
      if (call.cancelled) return; // Nobody is listening; nothing to send.
      if (stop.signal.aborted && shutdown.aborted) {
        call.emit(
          "error",
          toGrpcError(
            unavailable("The server is shutting down; watch the job again (on another replica)."),
            logger,
            "WatchJob",
          ),
        );
        return;
      }
      call.emit("error", toGrpcError(error, logger, "WatchJob"));
    } finally {
      watches.active--;
      call.off("cancelled", onCancelled);
      shutdown.removeEventListener("abort", onShutdown);
    }
  }

  return {
    Train: unary(logger, "Train", async (req, call) => {
      const body = parseRequest(schemas.trainRequest, trainRequestFromMessage(req));
      const { idempotencyKey } =
        req.idempotencyKey === ""
          ? {}
          : parseRequest(idempotencyKeyField, { idempotencyKey: req.idempotencyKey });
      // With AUTH on, the job is linked to the caller's key and counted against its job limit
      // (RESOURCE_EXHAUSTED past it) in the transaction that creates it.
      const submitter = callerOf(call.metadata);
      const { job, created } = await training.submit(body, {
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        ...(submitter ? { submitter } : {}),
      });
      return {
        jobId: job.id,
        model: job.model,
        version: job.version,
        status: enumName("JOB_STATUS", job.status) as never,
        created,
      };
    }),

    GetJob: unary(logger, "GetJob", async (req) =>
      jobToMessage(await training.getJob(jobId(req.id))),
    ),

    ListJobs: unary(logger, "ListJobs", async (req) => {
      const query = parseRequest(jobListQuerySchema, {
        status: enumValue("JOB_STATUS", req.status),
        model: req.model || undefined,
        limit: req.limit || undefined,
        cursor: req.cursor || undefined,
      });
      const page = await training.listJobs(query);
      return { items: page.items.map(jobToMessage), nextCursor: page.nextCursor ?? "" };
    }),

    CancelJob: unary(logger, "CancelJob", async (req) =>
      jobToMessage(await training.cancel(jobId(req.id))),
    ),

    GetJobMetrics: unary(logger, "GetJobMetrics", async (req) => {
      const metrics = await training.jobMetrics(jobId(req.id));
      return { jobId: metrics.jobId, epochs: metrics.epochs.map(epochToMessage) };
    }),

    WatchJob: (call) => {
      void watchJob(call);
    },
  };
}
