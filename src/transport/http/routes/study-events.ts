/**
 * GET /studies/{id}/events: a study's decisions as server-sent events (text/event-stream), in
 * the order it made them, until study.finished; then the stream closes.
 *
 *   id: <event id>   event: <type> (trial.started, rung.reached, ...)   data: StudyEvent JSON
 *
 * plus `: heartbeat` comments every HTTP_EVENTS_HEARTBEAT_MS. The events so far are sent at once
 * (after `Last-Event-ID` when the client reconnects), then each new one as the study makes it on
 * any replica (StudyService.follow). A reconnect after study.finished has nothing left to read:
 * 204, which also tells an EventSource to stop reconnecting. Errors before the stream starts
 * (bad id, unknown study) are problem+json as usual, as in routes/job-events.ts.
 */
import { PassThrough } from "node:stream";
import type { FastifyBaseLogger } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { type StudyEvent, studyParamsSchema } from "../../../training/studies/schemas.ts";
import type { StudyService } from "../../services.ts";
import { openStudyEventFeed } from "../../study-event-feed.ts";
import { sseEvent } from "./job-events.ts";
import { problems } from "./shared.ts";

export interface StudyEventOptions {
  studies: StudyService;
  heartbeatMs: number;
}

const eventHeadersSchema = z.looseObject({
  "last-event-id": z
    .string()
    .regex(/^\d{1,15}$/, "must be the id of an event this stream sent")
    .transform(Number)
    .optional(),
});

/** Writes the feed's events until it ends; a failure is logged (the stream just closes). */
async function pump(
  stream: PassThrough,
  events: AsyncIterable<StudyEvent>,
  stop: AbortSignal,
  log: FastifyBaseLogger,
): Promise<void> {
  try {
    // Reconnect after 2 s if the connection drops before study.finished.
    stream.write("retry: 2000\n\n");
    for await (const event of events) stream.write(sseEvent(event.type, event, event.id));
  } catch (error) {
    if (!stop.aborted) log.error({ err: error }, "study event stream failed");
  }
}

export const studyEventRoutes: FastifyPluginAsyncZod<StudyEventOptions> = async (
  app,
  { studies, heartbeatMs },
) => {
  // Open streams end when the server closes, or app.close() would wait for them forever.
  const closing = new AbortController();
  app.addHook("preClose", async () => closing.abort());

  app.get(
    "/studies/:id/events",
    {
      schema: {
        operationId: "watchStudyEvents",
        tags: ["studies"],
        summary: "Follow a study live: server-sent events until it finishes",
        description:
          "text/event-stream. Each event's `id` is the StudyEvent id, `event` its type (trial.started, rung.reached, trial.promoted, trial.pruned, trial.completed, trial.failed, best.changed, study.finished), `data` the StudyEvent. The stream closes after study.finished. Send `Last-Event-ID: N` to resume after event N; 204 when the study has ended and nothing follows N.",
        params: studyParamsSchema,
        headers: eventHeadersSchema,
        response: {
          200: {
            description: "The event stream",
            content: { "text/event-stream": { schema: z.string() } },
          },
          204: z.undefined().describe("The study has ended and no event follows Last-Event-ID"),
          ...problems(400, 404),
        },
      },
    },
    async (request, reply) => {
      const afterId = request.headers["last-event-id"] ?? 0;
      const stop = new AbortController();
      // Before any byte is sent: an unknown study is a 404 problem, not a stream.
      const feed = await openStudyEventFeed(studies, request.params.id, afterId, stop.signal);
      if (feed.ended) return reply.code(204).send();

      const stream = new PassThrough();
      const heartbeat = setInterval(() => stream.write(": heartbeat\n\n"), heartbeatMs);
      const finish = () => {
        clearInterval(heartbeat);
        closing.signal.removeEventListener("abort", finish);
        stop.abort();
      };
      closing.signal.addEventListener("abort", finish, { once: true });
      // The client went away (or the response ended): stop following.
      reply.raw.once("close", finish);
      stream.once("close", finish);
      void pump(stream, feed.events, stop.signal, request.log).finally(() => {
        finish();
        stream.end();
      });

      return (
        reply
          .type("text/event-stream; charset=utf-8")
          .header("cache-control", "no-cache")
          // Nginx and similar proxies buffer responses unless told not to.
          .header("x-accel-buffering", "no")
          // As routes/job-events.ts: an ended or abandoned stream is not worth keeping alive.
          .header("connection", "close")
          .send(stream as unknown as string)
      );
    },
  );
};
