/**
 * nnserve.v1.Operate: batch scoring, explanations, drift and feedback, as the REST API has them
 * (src/transport/http/routes/batch-predictions.ts, operate.ts), through the same services and
 * request schemas, so errors carry the same paths.
 */

import { once } from "node:events";
import type { ServerWritableStream } from "@grpc/grpc-js";
import type { BatchPrediction as BatchMessage } from "../../generated/grpc/nnserve/v1/BatchPrediction.ts";
import type { BatchPredictionResults } from "../../generated/grpc/nnserve/v1/BatchPredictionResults.ts";
import type { GetBatchPredictionRequest__Output } from "../../generated/grpc/nnserve/v1/GetBatchPredictionRequest.ts";
import type { OperateHandlers } from "../../generated/grpc/nnserve/v1/Operate.ts";
import { AppError, malformedRequest } from "../../platform/errors.ts";
import type { Logger } from "../../platform/logger.ts";
import { parseRequest } from "../../platform/validation/parse.ts";
import {
  type BatchPrediction,
  batchParamsSchema,
  batchPredictionRequestSchema,
} from "../../prediction/batch/schemas.ts";
import type { BatchScoringService } from "../../prediction/batch/service.ts";
import type { ExplainService } from "../../prediction/explain/service.ts";
import { feedbackRequestSchema } from "../../prediction/feedback/schemas.ts";
import type { RequestSchemas } from "../request-schemas.ts";
import type { Services } from "../services.ts";
import { timestamp } from "./convert.ts";
import { toGrpcError, unary } from "./status.ts";

const unavailableHere = (what: string) =>
  new AppError("UNAVAILABLE", `${what} is not served by this server.`);

function toMessage(job: BatchPrediction): BatchMessage {
  return {
    id: job.id,
    model: job.model,
    version: job.version,
    dataset: job.dataset ?? "",
    status: job.status,
    rowsDone: job.rowsDone,
    totalRows: job.totalRows,
    chunkRows: job.chunkRows,
    attempts: job.attempts,
    passthrough: job.passthrough,
    error: job.error ?? "",
    createdAt: timestamp(job.createdAt),
    startedAt: timestamp(job.startedAt),
    finishedAt: timestamp(job.finishedAt),
  };
}

function json(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw malformedRequest(`${field} is not valid JSON.`);
  }
}

/** `service`, or UNAVAILABLE when this server does not run it. */
function served<T>(service: T | undefined, what: string): T {
  if (!service) throw unavailableHere(what);
  return service;
}

type Explained = Awaited<ReturnType<ExplainService["predict"]>>;

/** An explained prediction as ExplainResponse carries it: JSON for the open-ended parts. */
function toExplainResponse({ explanations = [], baseline, ...prediction }: Explained) {
  return {
    model: prediction.model,
    version: prediction.version,
    predictionJson: JSON.stringify(prediction),
    baselineJson: JSON.stringify(baseline),
    explanations: explanations.map((e) => ({
      target: e.target,
      output: e.output,
      baselineOutput: e.baselineOutput,
      ...(Array.isArray(e.attributions)
        ? { attributionsByIndex: e.attributions, attributions: {} }
        : { attributions: e.attributions, attributionsByIndex: [] }),
      gap: e.gap,
      steps: e.steps,
    })),
  };
}

/** A finished batch's results, one message per stored chunk, as the client reads them. */
async function streamResults(
  call: ServerWritableStream<GetBatchPredictionRequest__Output, BatchPredictionResults>,
  batch: BatchScoringService | undefined,
  logger: Logger,
) {
  try {
    const { id } = parseRequest(batchParamsSchema, { id: call.request.id });
    for await (const text of await served(batch, "Batch scoring").results(id, "ndjson")) {
      if (call.cancelled) return;
      const rows = text.split("\n").filter((line) => line !== "");
      if (!call.write({ rows })) await once(call, "drain");
    }
    call.end();
  } catch (error) {
    if (call.cancelled) return;
    call.emit("error", toGrpcError(error, logger, "ReadBatchPredictionResults"));
  }
}

export function operateHandlers({
  services,
  schemas,
  logger,
}: {
  services: Services;
  schemas: RequestSchemas;
  logger: Logger;
}): OperateHandlers {
  const batch = () => served(services.batch, "Batch scoring");
  const feedback = () => served(services.feedback, "Feedback");

  return {
    StartBatchPrediction: unary(logger, "StartBatchPrediction", async (req) => {
      const body = parseRequest(batchPredictionRequestSchema, {
        dataset: req.dataset,
        ...(req.version === 0 ? {} : { version: req.version }),
        ...(req.alias === "" ? {} : { alias: req.alias }),
        passthrough: req.passthrough,
        ignoreExtraColumns: req.ignoreExtraColumns,
        explain: req.explain,
      });
      return toMessage(await batch().submit(req.model, body));
    }),

    GetBatchPrediction: unary(logger, "GetBatchPrediction", async (req) => {
      const { id } = parseRequest(batchParamsSchema, { id: req.id });
      return toMessage(await batch().get(id));
    }),

    ReadBatchPredictionResults: (call) => streamResults(call, services.batch, logger),

    Explain: unary(logger, "Explain", async (req) => {
      const explain = served(services.explain, "Explain");
      const body = parseRequest(schemas.predictRequest, {
        model: req.model,
        ...(req.version === 0 ? {} : { version: req.version }),
        inputs: json(req.inputsJson, "inputs_json"),
        explain: true,
        ...(req.baselineJson === "" ? {} : { baseline: json(req.baselineJson, "baseline_json") }),
      });
      return toExplainResponse(await explain.predict(body));
    }),

    GetDrift: unary(logger, "GetDrift", async (req) => {
      const drift = served(services.drift, "Drift");
      const report = await drift.report(req.model, req.version, req.window || "1h");
      return {
        ...report,
        from: timestamp(report.from),
        to: timestamp(report.to),
        features: report.features.map((f) => ({ ...f, unseenShare: f.unseenShare ?? 0 })),
      };
    }),

    SendFeedback: unary(logger, "SendFeedback", async (req) => {
      const body = parseRequest(feedbackRequestSchema, {
        items: req.items.map((item) => ({
          predictionId: item.predictionId,
          actual: item.actual === "value" ? item.value : item.label,
        })),
      });
      return feedback().submit(req.model, body);
    }),

    GetPerformance: unary(logger, "GetPerformance", async (req) => {
      const result = await feedback().performance(req.model, req.version, req.window || "1d");
      return {
        model: result.model,
        version: result.version,
        window: result.window,
        predictions: result.predictions,
        withFeedback: result.withFeedback,
        ...(result.accuracy == null ? {} : { accuracy: result.accuracy }),
        ...(result.mae == null ? {} : { mae: result.mae }),
      };
    }),
  };
}
