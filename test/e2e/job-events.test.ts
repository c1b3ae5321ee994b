/**
 * GET /jobs/{id}/events over real HTTP: a listening in-process server (startNnserve, one
 * training thread, real Postgres) and a streaming fetch client reading the events as they come.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job, JobMetrics } from "../../src/training/jobs/schemas.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { readEventStream, type StreamEvent } from "../helpers/event-stream.ts";
import { quickXorRequest, slowRequest } from "../helpers/requests.ts";
import { startTestServer, type TestServer, waitFor, waitForJob } from "../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    env: { HTTP_EVENTS_HEARTBEAT_MS: "150" },
  });
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

async function submit(body: unknown) {
  const response = await server.http.post<TrainAccepted>("/train", body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body.jobId;
}

const eventsUrl = (id: string) => `${server.url}/jobs/${id}/events`;
const names = (events: StreamEvent[]) => events.map((e) => e.event);
type Snapshot = { job: Job; epochs: JobMetrics["epochs"] };

describe("GET /jobs/{id}/events", () => {
  it("streams a snapshot, one event per epoch as it ends, status changes and the end, then closes", async () => {
    // The one training thread is busy: the stream opens while the job waits in the queue.
    const blocker = await submit(slowRequest("events-blocker", 10_000));
    await waitForJob(server.http, blocker, (job) => job.status === "running");
    const request = slowRequest("events-live", 1_000);
    const id = await submit({
      ...request,
      training: { ...request.training, validationSplit: 0.25 },
    });
    const reading = readEventStream(eventsUrl(id), {
      onEvent: (event) => {
        if (event.event === "snapshot") void server.http.post(`/jobs/${blocker}/cancel`);
      },
    });
    const stream = await reading;

    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(stream.headers.get("cache-control")).toBe("no-cache");
    const kinds = names(stream.events);
    expect(kinds[0]).toBe("snapshot");
    expect(kinds.at(-1)).toBe("end");
    expect(kinds.filter((k) => k === "end")).toHaveLength(1);

    // Every epoch exactly once, in order, between the snapshot and the epoch events, with its id.
    const snapshot = stream.events[0]!.data as Snapshot;
    const streamed = stream.events.filter((e) => e.event === "epoch");
    const epochs = [...snapshot.epochs, ...streamed.map((e) => e.data as JobMetrics["epochs"][0])];
    expect(epochs.map((e) => e.epoch)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    for (const e of streamed) expect(e.id).toBe(String((e.data as { epoch: number }).epoch));
    // Most epochs arrived live, spread over time, not in one burst at the end.
    expect(streamed.length).toBeGreaterThan(10);
    expect(streamed.at(-1)!.at - streamed[0]!.at).toBeGreaterThan(200);

    // The same numbers as the metrics endpoint, validation loss included.
    const metrics = await server.http.get<JobMetrics>(`/jobs/${id}/metrics`);
    expect(epochs).toEqual(metrics.body.epochs);
    expect(epochs.at(-1)!.valLoss).toEqual(expect.any(Number));

    const end = stream.events.at(-1)!.data as { job: Job };
    expect(end.job).toMatchObject({ id, status: "succeeded", progress: { epoch: 1_000 } });
    // The snapshot saw it queued; a status event said when it began running.
    expect(snapshot.job.status).toBe("queued");
    expect(snapshot.epochs).toEqual([]);
    const running = stream.events.find((e) => e.event === "status");
    expect(running).toBeDefined();
    expect((running!.data as { job: Job }).job.status).toBe("running");
    // Idle gaps carry heartbeat comments.
    expect(stream.comments).toContain("heartbeat");
  });

  it("resumes after Last-Event-ID: the snapshot holds only the later epochs, then end", async () => {
    const id = await submit(quickXorRequest("events-resume"));
    await waitForJob(server.http, id);
    const stream = await readEventStream(eventsUrl(id), { headers: { "last-event-id": "70" } });
    expect(names(stream.events)).toEqual(["snapshot", "end"]);
    const snapshot = stream.events[0]!.data as Snapshot;
    expect(snapshot.epochs.map((e) => e.epoch)).toEqual([71, 72, 73, 74, 75, 76, 77, 78, 79, 80]);
    expect(stream.events[0]!.id).toBe("80");
    expect((stream.events[1]!.data as { job: Job }).job.status).toBe("succeeded");
  });

  it("shares one poller between clients of one job, and stops it once they leave", async () => {
    const id = await submit(slowRequest("events-shared", 400));
    await waitForJob(server.http, id, (job) => job.status === "running");
    const epochSeen = (events: StreamEvent[]) => events.some((e) => e.event === "epoch");
    const clients = [1, 2, 3].map(() => readEventStream(eventsUrl(id), { until: epochSeen }));
    await waitFor("three followers", async () =>
      server.jobWatch.followers() === 3 ? true : undefined,
    );
    expect(server.jobWatch.pollers()).toBe(1);
    const results = await Promise.all(clients);
    for (const r of results) expect(names(r.events)).toContain("epoch");
    // The clients hung up: nothing polls that job any more.
    await waitFor("no followers", async () =>
      server.jobWatch.followers() === 0 && server.jobWatch.pollers() === 0 ? true : undefined,
    );
    await server.http.post(`/jobs/${id}/cancel`);
    await waitForJob(server.http, id);
  });

  it("answers an unknown job with 404 and a bad Last-Event-ID with 400 naming the header, as problem+json", async () => {
    const unknown = await readEventStream(eventsUrl(randomUUID()));
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: "NOT_FOUND" });

    const id = await submit(quickXorRequest("events-bad-header"));
    const bad = await readEventStream(eventsUrl(id), { headers: { "last-event-id": "soon" } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      code: "VALIDATION_FAILED",
      errors: [{ path: "last-event-id", message: expect.stringContaining("epoch number") }],
    });
    expect(server.jobWatch.followers()).toBe(0);
    await waitForJob(server.http, id);
  });

  it("is in the OpenAPI document as a text/event-stream", async () => {
    const doc = await server.http.get<{
      paths: Record<string, { get: { responses: Record<string, { content: object }> } }>;
    }>("/docs/json");
    const op = doc.body.paths["/jobs/{id}/events"]!.get;
    expect(Object.keys(op.responses["200"]!.content)).toEqual(["text/event-stream"]);
  });

  // Last: it closes the server.
  it("ends open streams when the server shuts down, so that close() does not wait for them", async () => {
    const id = await submit(slowRequest("events-shutdown", 10_000));
    await waitForJob(server.http, id, (job) => job.status === "running");
    let opened: () => void = () => {};
    const open = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const reading = readEventStream(eventsUrl(id), { onEvent: () => opened() });
    await open;
    const started = Date.now();
    await server.close();
    const stream = await reading;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(names(stream.events)).not.toContain("end");
    expect(server.jobWatch.followers()).toBe(0);
  });
});
