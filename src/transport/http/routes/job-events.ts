/**
 * GET /jobs/{id}/events: a job followed live as server-sent events (text/event-stream), for
 * the dashboard and any client that would rather be told than poll.
 *
 *   event: snapshot  id: <last epoch>  data: {"job": Job, "epochs": [epochs after Last-Event-ID]}
 *   event: epoch     id: <epoch>       data: one epoch's metrics (as in GET /jobs/{id}/metrics)
 *   event: status                      data: {"job": Job}  (queued -> running, cancel asked, ...)
 *   event: restart                     data: {"job": Job}  (a new attempt: epochs start from 1)
 *   event: end                         data: {"job": Job}  (the final state; then the stream closes)
 *
 * plus a `: heartbeat` comment every HTTP_EVENTS_HEARTBEAT_MS. The id of an event is its epoch,
 * so a client that reconnects with `Last-Event-ID: N` gets only the epochs after N. The job is
 * followed by the shared JobWatch (services/job-watch.ts): one poller per job, however many
 * clients. Errors before the stream starts (bad id, unknown job) are problem+json as usual; the
 * stream ends when the server shuts down, and the client reconnects (to another replica).
 */
import { PassThrough } from "node:stream";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { jobParamsSchema } from "../../../training/jobs/schemas.ts";
import type { JobUpdate, JobWatch } from "../../../training/watch.ts";
import { problems } from "./shared.ts";

export interface JobEventOptions {
  jobWatch: JobWatch;
  heartbeatMs: number;
}

const eventHeadersSchema = z.looseObject({
  "last-event-id": z
    .string()
    .regex(/^\d{1,9}$/, "must be the id of an event this stream sent (an epoch number)")
    .transform(Number)
    .optional(),
});

/** One event in the text/event-stream format; data is one line of JSON. */
export function sseEvent(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The events one update of the watch becomes. */
export function eventsOf(update: JobUpdate, afterEpoch: number): string[] {
  const { job } = update;
  if (update.first) {
    const last = update.epochs.at(-1)?.epoch ?? afterEpoch;
    const snapshot = sseEvent("snapshot", { job, epochs: update.epochs }, last);
    return update.finished ? [snapshot, sseEvent("end", { job })] : [snapshot];
  }
  const out: string[] = [];
  if (update.restarted) out.push(sseEvent("restart", { job }));
  for (const epoch of update.epochs) out.push(sseEvent("epoch", epoch, epoch.epoch));
  if (update.finished) out.push(sseEvent("end", { job }));
  else if (update.statusChanged || (update.jobChanged && update.epochs.length === 0)) {
    out.push(sseEvent("status", { job }));
  }
  return out;
}

export const jobEventRoutes: FastifyPluginAsyncZod<JobEventOptions> = async (
  app,
  { jobWatch, heartbeatMs },
) => {
  // Open streams end when the server closes, or app.close() would wait for them forever.
  const closing = new AbortController();
  app.addHook("preClose", async () => closing.abort());

  app.get(
    "/jobs/:id/events",
    {
      schema: {
        operationId: "watchJobEvents",
        tags: ["training"],
        summary: "Follow a job live: server-sent events until it ends",
        description:
          "text/event-stream. Events: `snapshot` (the job and its epochs so far), `epoch` (id: the epoch), `status`, `restart` (a new attempt), `end` (the final job; the stream then closes). A `: heartbeat` comment keeps idle connections open. Send `Last-Event-ID: N` to resume after epoch N.",
        params: jobParamsSchema,
        headers: eventHeadersSchema,
        response: {
          200: {
            description: "The event stream",
            content: { "text/event-stream": { schema: z.string() } },
          },
          ...problems(400, 404),
        },
      },
    },
    async (request, reply) => {
      const afterEpoch = request.headers["last-event-id"] ?? 0;
      const stop = new AbortController();
      const abort = () => stop.abort();
      closing.signal.addEventListener("abort", abort, { once: true });
      const updates = jobWatch.watch(request.params.id, { signal: stop.signal, afterEpoch });
      // The first update before any byte is sent: an unknown job is a 404 problem, not a stream.
      let first: IteratorResult<JobUpdate, void>;
      try {
        first = await updates.next();
      } catch (error) {
        closing.signal.removeEventListener("abort", abort);
        throw error;
      }

      const stream = new PassThrough();
      const heartbeat = setInterval(() => stream.write(": heartbeat\n\n"), heartbeatMs);
      const finish = () => {
        clearInterval(heartbeat);
        closing.signal.removeEventListener("abort", abort);
        stop.abort();
      };
      // The client went away (or the response ended): stop following.
      reply.raw.once("close", finish);
      stream.once("close", finish);

      void (async () => {
        try {
          // Reconnect after 2 s if the connection drops before the end event.
          stream.write("retry: 2000\n\n");
          if (!first.done) for (const e of eventsOf(first.value, afterEpoch)) stream.write(e);
          if (!first.done && !first.value.finished) {
            for await (const update of updates) {
              for (const e of eventsOf(update, afterEpoch)) stream.write(e);
            }
          }
        } catch (error) {
          request.log.error({ err: error }, "job event stream failed");
        } finally {
          await updates.return();
          finish();
          stream.end();
        }
      })();

      return (
        reply
          .type("text/event-stream; charset=utf-8")
          .header("cache-control", "no-cache")
          // Nginx and similar proxies buffer responses unless told not to.
          .header("x-accel-buffering", "no")
          // A stream that ended or was abandoned is not worth keeping alive: a socket left between
          // a cancelled read and the end would hold up the server's close until it timed out.
          .header("connection", "close")
          // The documented body is the stream's text; fastify sends a stream as it flows.
          .send(stream as unknown as string)
      );
    },
  );
};
