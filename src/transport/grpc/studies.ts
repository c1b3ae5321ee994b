/**
 * nnserve.v1.Studies: each call parses its request with the shared schema and calls one
 * StudyService function, like the REST routes in src/transport/http/routes/studies.ts, so a bad
 * field has the same path and message (INVALID_ARGUMENT) and nothing is stored.
 *
 * WatchStudy forwards the study's event feed (../study-event-feed.ts, also behind REST's event
 * stream): the events after after_id, then each new one, ending (OK) after study.finished. A
 * cancelled call stops at once; at shutdown the stream ends with UNAVAILABLE.
 */
import { once } from "node:events";
import type { ServerWritableStream } from "@grpc/grpc-js";
import { z } from "zod";
import type { StudiesHandlers } from "../../generated/grpc/nnserve/v1/Studies.ts";
import type { StudyEvent as StudyEventMessage } from "../../generated/grpc/nnserve/v1/StudyEvent.ts";
import type { WatchStudyRequest__Output } from "../../generated/grpc/nnserve/v1/WatchStudyRequest.ts";
import { unavailable } from "../../platform/errors.ts";
import type { Logger } from "../../platform/logger.ts";
import { parseRequest } from "../../platform/validation/parse.ts";
import { studyListQuerySchema, studyParamsSchema } from "../../training/studies/schemas.ts";
import type { RequestSchemas } from "../request-schemas.ts";
import type { StudyService } from "../services.ts";
import { openStudyEventFeed } from "../study-event-feed.ts";
import { callerOf } from "./auth-guard.ts";
import { toGrpcError, unary } from "./status.ts";
import {
  curvesToMessage,
  eventToMessage,
  studyRequestFromMessage,
  studyToMessage,
} from "./study-messages.ts";

/** uint64 arrives as a decimal string; event ids are safe integers. */
const watchRequestSchema = z.object({
  id: studyParamsSchema.shape.id,
  afterId: z
    .string()
    .regex(/^\d{1,15}$/, "must be the id of an event of this study, or 0")
    .transform(Number),
});

export interface StudyHandlerDeps {
  studies: StudyService;
  schemas: RequestSchemas;
  logger: Logger;
  /** Aborted when the server shuts down: watches end with UNAVAILABLE. */
  shutdown: AbortSignal;
  /** Counts the watch loops running, shared with WatchJob's. */
  watches: { active: number };
}

export function studiesHandlers(deps: StudyHandlerDeps): StudiesHandlers {
  const { studies, schemas, logger } = deps;
  const studyId = (id: string) => parseRequest(studyParamsSchema, { id }).id;

  return {
    CreateStudy: unary(logger, "CreateStudy", async (req, call) => {
      const body = parseRequest(schemas.studyRequest, studyRequestFromMessage(req));
      // With AUTH on, the trials' jobs are submitted as the caller's key and count against its
      // job limit.
      const submitter = callerOf(call.metadata);
      return studyToMessage(await studies.create(body, submitter ? { submitter } : {}));
    }),

    GetStudy: unary(logger, "GetStudy", async (req) =>
      studyToMessage(await studies.get(studyId(req.id))),
    ),

    ListStudies: unary(logger, "ListStudies", async (req) => {
      const query = parseRequest(studyListQuerySchema, {
        limit: req.limit || undefined,
        cursor: req.cursor || undefined,
        model: req.model || undefined,
        status: req.status || undefined,
      });
      const page = await studies.list(query);
      return { items: page.items.map(studyToMessage), nextCursor: page.nextCursor ?? "" };
    }),

    CancelStudy: unary(logger, "CancelStudy", async (req) =>
      studyToMessage(await studies.cancel(studyId(req.id))),
    ),

    GetStudyCurves: unary(logger, "GetStudyCurves", async (req) =>
      curvesToMessage(await studies.curves(studyId(req.id))),
    ),

    WatchStudy: (call) => {
      void watchStudy(call, deps);
    },
  };
}

async function watchStudy(
  call: ServerWritableStream<WatchStudyRequest__Output, StudyEventMessage>,
  { studies, logger, shutdown, watches }: StudyHandlerDeps,
): Promise<void> {
  const stop = new AbortController();
  const abort = () => stop.abort();
  call.on("cancelled", abort);
  shutdown.addEventListener("abort", abort);
  watches.active++;
  try {
    const { id, afterId } = parseRequest(watchRequestSchema, call.request);
    const feed = await openStudyEventFeed(studies, id, afterId, stop.signal);
    for await (const event of feed.events) {
      if (!call.write(eventToMessage(event))) await once(call, "drain", { signal: stop.signal });
    }
    if (stop.signal.aborted) throw new DOMException("stopped", "AbortError");
    call.end();
  } catch (error) {
    if (call.cancelled) return; // Nobody is listening; nothing to send.
    const reason = shutdown.aborted
      ? unavailable("The server is shutting down; watch the study again (on another replica).")
      : error;
    call.emit("error", toGrpcError(reason, logger, "WatchStudy"));
  } finally {
    watches.active--;
    call.off("cancelled", abort);
    shutdown.removeEventListener("abort", abort);
  }
}
