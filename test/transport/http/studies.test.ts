/**
 * Studies over REST on a whole server (in process, real Postgres, the real StudyService and
 * conductor, jobs trained by the worker pool): a study created, followed over server-sent events
 * to study.finished and resumed with Last-Event-ID; cancel; every bad input of issue 22 refused
 * with problem+json and the field path, with nothing stored or queued.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyStore } from "../../../src/auth/key-store.ts";
import type { Dataset } from "../../../src/datasets/schemas.ts";
import type { Problem } from "../../../src/platform/validation/problem.ts";
import type { JobPage } from "../../../src/training/jobs/schemas.ts";
import type {
  Study,
  StudyCurves,
  StudyEvent,
  StudyPage,
} from "../../../src/training/studies/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { uploadCsv } from "../../helpers/datasets.ts";
import { readEventStream, type StreamEvent } from "../../helpers/event-stream.ts";
import { startTestServer, type TestServer, waitFor } from "../../helpers/server.ts";
import { schemaRefusals, studyCsv, tinyStudy, withPatch } from "../../helpers/studies.ts";

const PER_KEY_JOBS = 3;

let db: TestDatabase;
let server: TestServer;
let dataset: Dataset;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    env: { STUDY_TICK_MS: "100", MAX_QUEUED_JOBS_PER_KEY: String(PER_KEY_JOBS) },
  });
  dataset = await uploadCsv(server.url, "study-table", studyCsv());
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

const eventsUrl = (id: string) => `${server.url}/studies/${id}/events`;
const dataOf = (events: StreamEvent[]) => events.map((e) => e.data as StudyEvent);

describe("POST /studies, then GET /studies/{id}/events", () => {
  let study: Study;
  let all: StudyEvent[];

  it("answers 202 with the study and its Location", async () => {
    const created = await server.http.post<Study>("/studies", tinyStudy(dataset.id));
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    study = created.body;
    expect(created.headers.get("location")).toBe(`/studies/${study.id}`);
    expect(study).toMatchObject({
      status: "running",
      model: "tiny-study",
      scheduler: "asha",
      seed: 7,
      rungs: [1, 2, 4],
      objective: { metric: "valLoss", direction: "minimize" },
      epochsIfExhaustive: 16,
    });
    expect(study.trials.map((t) => t.trial)).toEqual([1, 2, 3, 4]);
  });

  it("follows the study live, resumes after Last-Event-ID, and ends after study.finished", async () => {
    // Read until the first result, drop the connection, resume where it stopped.
    const first = await readEventStream(eventsUrl(study.id), {
      until: (events) => events.some((e) => e.event === "rung.reached"),
    });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const lastSeen = first.events.at(-1)!.id!;
    const rest = await readEventStream(eventsUrl(study.id), {
      headers: { "last-event-id": lastSeen },
    });
    expect(rest.status).toBe(200);
    const followed = [...dataOf(first.events), ...dataOf(rest.events)];
    expect(followed.at(-1)).toMatchObject({ type: "study.finished", status: "succeeded" });

    // The whole stream read again at the end: the same events, once each, in id order.
    const replay = await readEventStream(eventsUrl(study.id));
    all = dataOf(replay.events);
    expect(followed).toEqual(all);
    const ids = all.map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const e of replay.events) {
      expect(e.event).toBe((e.data as StudyEvent).type);
      expect(e.id).toBe(String((e.data as StudyEvent).id));
    }
    expect(all[0]!.type).toBe("trial.started");
    expect(all.filter((e) => e.type === "study.finished")).toHaveLength(1);
    expect(all.some((e) => e.type === "best.changed")).toBe(true);
    // 4 trials at 1 epoch, the top half of the results so far on to 2, of those on to 4 (which
    // trials, and whether one more goes on, depends on the order the segments end).
    expect(all.filter((e) => e.type === "trial.started")).toHaveLength(4);
    const promotedTo = all.filter((e) => e.type === "trial.promoted").map((e) => e.rung);
    expect(promotedTo.filter((rung) => rung === 1).length).toBeGreaterThanOrEqual(2);
    expect(promotedTo.filter((rung) => rung === 2).length).toBeGreaterThanOrEqual(1);
    expect(all.filter((e) => e.type === "trial.completed").length).toBeGreaterThanOrEqual(1);
  });

  it("resumes in the middle with only the events after Last-Event-ID, and 204 after the last", async () => {
    const middle = all[Math.floor(all.length / 2)]!;
    const resumed = await readEventStream(eventsUrl(study.id), {
      headers: { "last-event-id": String(middle.id) },
    });
    expect(dataOf(resumed.events)).toEqual(all.filter((e) => e.id > middle.id));

    const ended = await fetch(eventsUrl(study.id), {
      headers: { "last-event-id": String(all.at(-1)!.id) },
    });
    expect(ended.status).toBe(204);
  });

  it("shows the finished study, its leaderboard and every trial's curve", async () => {
    const done = (await server.http.get<Study>(`/studies/${study.id}`)).body;
    expect(done.status).toBe("succeeded");
    expect(done.finishedAt).not.toBeNull();
    expect(done.best).not.toBeNull();
    for (const trial of done.trials) expect(["completed", "pruned"]).toContain(trial.status);
    expect(done.trials.some((t) => t.status === "completed" && t.epochs === 4)).toBe(true);
    // At least 4 × 1 epoch, 2 × 1 more and 1 × 2 more; below the 4 × 4 of training every trial.
    expect(done.epochsSpent).toBe(done.trials.reduce((sum, t) => sum + t.epochs, 0));
    expect(done.epochsSpent).toBeGreaterThanOrEqual(8);
    expect(done.epochsSpent).toBeLessThan(done.epochsIfExhaustive);
    const winner = done.trials.find((t) => t.trial === done.best!.trial)!;
    expect(winner.rungs.some((r) => r.metric === done.best!.metric)).toBe(true);

    const curves = (await server.http.get<StudyCurves>(`/studies/${study.id}/curves`)).body;
    for (const trial of done.trials) {
      const curve = curves.trials.find((c) => c.trial === trial.trial)!;
      expect(curve.points.map((p) => p.epoch)).toEqual(
        Array.from({ length: trial.epochs }, (_, i) => i + 1),
      );
      expect(curve.points.every((p) => typeof p.valLoss === "number")).toBe(true);
    }

    const page = (await server.http.get<StudyPage>("/studies?model=tiny-study")).body;
    expect(page.items.map((s) => s.id)).toContain(study.id);
    expect(page.items[0]!).not.toHaveProperty("trials");
  });

  it("refuses to cancel a finished study (409) and knows no other study (404)", async () => {
    const again = await server.http.post<Problem>(`/studies/${study.id}/cancel`);
    expect(again.status).toBe(409);
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await server.http.get<Problem>(`/studies/${unknown}`)).status).toBe(404);
    expect((await fetch(eventsUrl(unknown))).status).toBe(404);
    const bad = await server.http.get<Problem>("/studies/nope");
    expect(bad.status).toBe(400);
    expect(bad.body.errors?.[0]?.path).toBe("id");
    const badResume = await readEventStream(eventsUrl(study.id), {
      headers: { "last-event-id": "soon" },
    });
    expect(badResume.status).toBe(400);
    expect((badResume.body as Problem).errors?.[0]?.path).toBe("last-event-id");
  });
});

describe("POST /studies/{id}/cancel", () => {
  it("cancels a running study: the stream ends with study.finished cancelled, nothing left queued", async () => {
    const created = await server.http.post<Study>(
      "/studies",
      tinyStudy(dataset.id, {
        model: "cancelled-study",
        budget: {
          trials: 6,
          maxEpochs: 4000,
          minEpochs: 2000,
          reductionFactor: 2,
          maxConcurrent: 1,
        },
      }),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const id = created.body.id;
    // Once the first segment is a queued job, cancel. (trial.started is the decision; the job
    // is submitted just after it, and a cancel in between rightly leaves no job at all.)
    await readEventStream(eventsUrl(id), {
      until: (events) => events.some((e) => e.event === "trial.started"),
    });
    await waitFor("the first segment's job", async () => {
      const study = (await server.http.get<Study>(`/studies/${id}`)).body;
      return study.trials.some((t) => t.job !== null) || undefined;
    });
    const cancelled = await server.http.post<Study>(`/studies/${id}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.status).toBe("cancelled");

    const stream = await readEventStream(eventsUrl(id));
    expect(dataOf(stream.events).at(-1)).toMatchObject({
      type: "study.finished",
      status: "cancelled",
    });
    // Its segment jobs end (a running one at its next epoch) and no trial is left open.
    const jobs = await waitFor("the study's jobs to end", async () => {
      const page = await server.http.get<JobPage>("/jobs?model=cancelled-study");
      const open = page.body.items.filter((j) => j.status === "queued" || j.status === "running");
      return open.length === 0 ? page.body.items : undefined;
    });
    expect(jobs.length).toBeGreaterThan(0);
    const after = (await server.http.get<Study>(`/studies/${id}`)).body;
    expect(after.status).toBe("cancelled");
    for (const trial of after.trials) {
      expect(["cancelled", "completed", "pruned", "failed"]).toContain(trial.status);
    }
    expect(after.trials.some((t) => t.status === "cancelled")).toBe(true);
  });
});

describe("bad input", () => {
  let fresh: TestServer;
  let freshDb: TestDatabase;
  let table: Dataset;

  beforeAll(async () => {
    // A server of its own, so "nothing stored" means nothing at all.
    freshDb = await createTestDatabase();
    fresh = await startTestServer({
      databaseUrl: freshDb.url,
      env: { STUDY_TICK_MS: "100", MAX_QUEUED_JOBS_PER_KEY: String(PER_KEY_JOBS) },
    });
    table = await uploadCsv(fresh.url, "refusals", studyCsv());
  });

  afterAll(async () => {
    await fresh?.close();
    await freshDb?.close();
  });

  const refusals = () => [
    ...schemaRefusals(table.id),
    {
      what: "valAccuracy on a regressor",
      body: tinyStudy(table.id, { target: "val", objective: { metric: "valAccuracy" } }),
      path: "objective.metric",
      message: expect.stringContaining("needs a classification target"),
    },
    {
      what: "maxConcurrent above the per-key job limit",
      body: withPatch(tinyStudy(table.id), {
        budget: { trials: 3, maxEpochs: 4, maxConcurrent: PER_KEY_JOBS + 1 },
      }),
      path: "budget.maxConcurrent",
      message: expect.stringContaining("MAX_QUEUED_JOBS_PER_KEY"),
    },
    {
      what: "an unknown dataset",
      body: tinyStudy("00000000-0000-4000-8000-000000000000"),
      path: "dataset",
      message: expect.any(String),
    },
  ];

  it("refuses each with problem+json naming the field, and stores and queues nothing", async () => {
    for (const { what, body, path, message } of refusals()) {
      const response = await fresh.http.post<Problem>("/studies", body);
      expect(response.status, what).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
      expect(response.body.code, what).toBe("VALIDATION_FAILED");
      expect(response.body.errors, what).toContainEqual({ path, message });
    }
    const studies = await fresh.http.get<StudyPage>("/studies");
    const jobs = await fresh.http.get<JobPage>("/jobs");
    expect(studies.body.items).toEqual([]);
    expect(jobs.body.items).toEqual([]);
  });

  it("documents every studies route in the OpenAPI document", async () => {
    const doc = await fresh.http.get<{
      paths: Record<string, Record<string, { operationId: string; tags: string[] }>>;
    }>("/docs/json");
    const operations = Object.values(doc.body.paths)
      .flatMap((methods) => Object.values(methods))
      .filter((op) => op.tags?.includes("studies"))
      .map((op) => op.operationId)
      .sort();
    expect(operations).toEqual([
      "cancelStudy",
      "createStudy",
      "getStudy",
      "getStudyCurves",
      "listStudies",
      "watchStudyEvents",
    ]);
    const create = doc.body.paths["/studies"]!.post as unknown as {
      requestBody: { content: Record<string, { schema: { properties: object } }> };
    };
    expect(Object.keys(create.requestBody.content["application/json"]!.schema.properties)).toEqual(
      expect.arrayContaining(["model", "dataset", "target", "objective", "space", "budget"]),
    );
  });
});

describe("with AUTH on", () => {
  let authDb: TestDatabase;
  let authed: TestServer;

  beforeAll(async () => {
    authDb = await createTestDatabase();
    authed = await startTestServer({
      databaseUrl: authDb.url,
      env: { AUTH: "on", STUDY_TICK_MS: "100" },
    });
  });

  afterAll(async () => {
    await authed?.close();
    await authDb?.close();
  });

  it("needs the train scope, as the jobs routes do", async () => {
    const keys = createKeyStore({ db: authDb });
    const predictKey = (await keys.create({ name: "reader", scopes: ["predict"] })).key;
    const trainKey = (await keys.create({ name: "searcher", scopes: ["train"] })).key;
    const as = (key: string) => ({ authorization: `Bearer ${key}` });

    expect((await authed.http.get("/studies")).status).toBe(401);
    const refused = await authed.http.request<Problem>("POST", "/studies", {
      json: tinyStudy("00000000-0000-4000-8000-000000000000"),
      headers: as(predictKey),
    });
    expect(refused.status).toBe(403);
    expect((await authed.http.request("GET", "/studies", { headers: as(predictKey) })).status).toBe(
      403,
    );

    const listed = await authed.http.request<StudyPage>("GET", "/studies", {
      headers: as(trainKey),
    });
    expect(listed.status).toBe(200);
    // Past the scope check, the request itself is judged: an unknown dataset, 400.
    const judged = await authed.http.request<Problem>("POST", "/studies", {
      json: tinyStudy("00000000-0000-4000-8000-000000000000"),
      headers: as(trainKey),
    });
    expect(judged.status).toBe(400);
    expect(judged.body.errors?.[0]?.path).toBe("dataset");
  });
});
