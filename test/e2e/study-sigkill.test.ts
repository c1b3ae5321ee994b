/**
 * A study on real server processes (spawnServer: `node src/main.ts`) sharing one database, as
 * in production. Its segments are ordinary queued jobs and its decisions are taken under a lock
 * in Postgres, so:
 * - two replicas deciding the same study at the same moment make each decision once;
 * - a replica SIGKILLed while it trains a continuation segment loses that segment to another
 *   process only through the job lease (JOB_LEASE_MS = 1.5 s here), which trains it again, and
 *   the study completes with every trial accounted for and every event made once.
 * What is checked is what a client and an operator see: GET /studies/{id}, its event stream,
 * the jobs the study queued (by their idempotency keys) and the processes' logs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../src/engine/index.ts";
import type {
  Study,
  StudyCurves,
  StudyEvent,
  StudyRequestInput,
  TrialStatus,
} from "../../src/training/studies/schemas.ts";
import type { Model } from "../../src/versions/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { uploadCsv } from "../helpers/datasets.ts";
import { readEventStream } from "../helpers/event-stream.ts";
import {
  type HttpClient,
  jobRow,
  type ServerProcess,
  sleep,
  spawnServer,
  stopSpawnedServers,
  waitFor,
} from "../helpers/server.ts";

/** The conductor's fallback tick, short so that both replicas reconcile often. */
const STUDY_ENV = { STUDY_TICK_MS: "50" };

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

// Each test's processes end with it, so that none takes the next test's jobs.
afterEach(stopSpawnedServers);

afterAll(async () => {
  await db?.close();
});

/** Three overlapping Gaussian blobs in 6 dimensions: trials differ, none is perfect. */
function blobsCsv(rows: number): string {
  const random = new Random(3);
  const lines = ["f0,f1,f2,f3,f4,f5,label"];
  for (let r = 0; r < rows; r++) {
    const label = r % 3;
    const x = Array.from({ length: 6 }, (_, j) => (j === label ? 1.5 : 0) + random.normal());
    lines.push(`${x.map((v) => v.toFixed(5)).join(",")},k${label}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Nine trials, rungs 10, 30 and 90 epochs (η 3): 9 + 3 + 1 segments if none is promoted early. */
function studyRequest(model: string, dataset: string, batchSize: number): StudyRequestInput {
  return {
    model,
    dataset,
    target: "label",
    objective: { metric: "valLoss" },
    space: {
      layers: { choice: [[16], [32, 32]] },
      learningRate: { logUniform: [1e-3, 5e-2] },
      batchSize: { choice: [batchSize] },
    },
    budget: { trials: 9, minEpochs: 10, maxEpochs: 90, reductionFactor: 3, maxConcurrent: 2 },
    scheduler: "asha",
    seed: 5,
  };
}

/** Uploads the blobs through `server` and creates the study there, as a client would. */
async function createStudy(
  server: ServerProcess,
  model: string,
  batchSize: number,
): Promise<Study> {
  const dataset = await uploadCsv(server.url, `${model}-blobs`, blobsCsv(1200));
  const created = await server.http.post<Study>(
    "/studies",
    studyRequest(model, dataset.id, batchSize),
  );
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  expect(created.headers.get("location")).toBe(`/studies/${created.body.id}`);
  return created.body;
}

async function waitForStudyEnd(http: HttpClient, id: string): Promise<Study> {
  let last: unknown;
  return waitFor(
    `study ${id} to end`,
    async () => {
      const response = await http.get<Study>(`/studies/${id}`);
      last = response.body;
      return response.status === 200 && response.body.status !== "running"
        ? response.body
        : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 100 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last seen: ${JSON.stringify(last)}`);
  });
}

interface SegmentJob {
  key: string;
  id: string;
  status: string;
  attempts: number;
  worker: string | null;
}

async function segmentJobs(studyId: string): Promise<SegmentJob[]> {
  const { rows } = await db.pool.query<SegmentJob>(
    `SELECT idempotency_key AS key, id, status, attempts, worker
       FROM training_jobs WHERE idempotency_key LIKE $1 ORDER BY idempotency_key`,
    [`study:${studyId}:%`],
  );
  return rows;
}

/**
 * The study's segment jobs as seen while it runs, by idempotency key. Needed because the end of
 * a study deletes the losing candidates' versions (keep "best"), and their jobs with them; a job
 * lives from its submission to the study's end, so polling every 20 ms sees each one.
 */
function watchSegments(studyId: string) {
  const seen = new Map<string, SegmentJob>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const job of await segmentJobs(studyId)) {
        const before = seen.get(job.key);
        if (before && before.id !== job.id) throw new Error(`${job.key} is a second job`);
        seen.set(job.key, job);
      }
      await sleep(20);
    }
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      await loop;
      return [...seen.values()];
    },
  };
}

const FINAL: readonly TrialStatus[] = ["completed", "pruned"];

/**
 * The ended study as a whole: succeeded, every trial completed or pruned with a result at each
 * rung it reached and a curve with each of its epochs once, one job per segment it ran, no job
 * left queued or running, the winner a normal ready version, and every event once.
 */
async function expectAccountedFor(
  server: ServerProcess,
  study: Study,
  segments: SegmentJob[],
): Promise<void> {
  expect(study.status, JSON.stringify(study)).toBe("succeeded");
  expect(study.error).toBeNull();
  expect(study.trials.map((t) => t.trial)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (const trial of study.trials) {
    expect(FINAL, `trial ${trial.trial}: ${JSON.stringify(trial)}`).toContain(trial.status);
    expect(trial.job).toBeNull();
    expect(trial.rungs.map((r) => r.rung)).toEqual(trial.rungs.map((_, k) => k));
    expect(trial.rungs.map((r) => r.epochs)).toEqual(study.rungs.slice(0, trial.rungs.length));
    expect(trial.epochs).toBe(trial.rungs.at(-1)!.epochs);
  }
  expect(study.trials.filter((t) => t.status === "completed").length).toBeGreaterThanOrEqual(1);
  expect(study.epochsIfExhaustive).toBe(9 * 90);
  expect(study.epochsSpent).toBe(study.trials.reduce((n, t) => n + t.epochs, 0));
  expect(study.epochsSpent).toBeLessThan(study.epochsIfExhaustive / 2);

  // Each trial's curve: epochs 1..its epochs, once each (no rows left from a killed attempt).
  const curves = await server.http.get<StudyCurves>(`/studies/${study.id}/curves`);
  expect(curves.status).toBe(200);
  for (const trial of study.trials) {
    const curve = curves.body.trials.find((c) => c.trial === trial.trial)!;
    expect(curve.points.map((p) => p.epoch)).toEqual(
      Array.from({ length: trial.epochs }, (_, i) => i + 1),
    );
  }

  // One job per segment each trial ran (trial n, segments 0..rungs-1), and no other.
  const expected = study.trials.flatMap((t) =>
    t.rungs.map((_, k) => `study:${study.id}:trial:${t.trial}:segment:${k}`),
  );
  expect(segments.map((j) => j.key).sort()).toEqual(expected.sort());
  const { rows: open } = await db.pool.query(
    "SELECT id, status FROM training_jobs WHERE status IN ('queued', 'running')",
  );
  expect(open).toEqual([]);

  // The best result is a normal, ready version of the model (its candidates' are gone).
  expect(study.best).not.toBeNull();
  const model = await server.http.get<Model>(`/models/${study.model}`);
  expect(model.status).toBe(200);
  expect(model.body.versions.map((v) => v.version)).toEqual([study.best!.version]);
  expect(model.body.versions[0]!.status).toBe("ready");
  expect(model.body.latestVersion).toBe(study.best!.version);

  await expectEventsOnce(server.url, study);
}

/** The study's event stream from the start: each decision and observation exactly once. */
async function expectEventsOnce(baseUrl: string, study: Study): Promise<void> {
  const stream = await readEventStream(`${baseUrl}/studies/${study.id}/events`);
  expect(stream.status).toBe(200);
  const events = stream.events.map((e) => e.data as StudyEvent);
  expect(stream.events.map((e) => e.event)).toEqual(events.map((e) => e.type));
  const ids = events.map((e) => e.id);
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(new Set(ids).size).toBe(ids.length);

  const of = (type: StudyEvent["type"]) => events.filter((e) => e.type === type);
  const keys = (type: StudyEvent["type"]) => of(type).map((e) => `${e.trial}@${e.rung}`);
  const once = (list: string[]) => expect(list.length, list.join(" ")).toBe(new Set(list).size);
  const trials = study.trials;
  expect(
    of("trial.started")
      .map((e) => e.trial)
      .sort((a, b) => a! - b!),
  ).toEqual(trials.map((t) => t.trial));
  once(keys("rung.reached"));
  expect(of("rung.reached")).toHaveLength(trials.reduce((n, t) => n + t.rungs.length, 0));
  once(keys("trial.promoted"));
  expect(of("trial.promoted")).toHaveLength(trials.reduce((n, t) => n + t.rungs.length - 1, 0));
  const pruned = trials.filter((t) => t.status === "pruned").map((t) => t.trial);
  expect(of("trial.pruned").map((e) => e.trial)).toHaveLength(pruned.length);
  expect(new Set(of("trial.pruned").map((e) => e.trial))).toEqual(new Set(pruned));
  const completed = trials.filter((t) => t.status === "completed").map((t) => t.trial);
  expect(new Set(of("trial.completed").map((e) => e.trial))).toEqual(new Set(completed));
  expect(of("trial.completed")).toHaveLength(completed.length);
  expect(of("trial.failed")).toEqual([]);
  // Each new best was judged after more epochs than the one before, or after as many with a
  // lower valLoss; the last is the study's.
  const bests = of("best.changed");
  for (let i = 1; i < bests.length; i++) {
    const [before, after] = [bests[i - 1]!, bests[i]!];
    if (after.epochs === before.epochs) expect(after.metric!).toBeLessThan(before.metric!);
    else expect(after.epochs!).toBeGreaterThan(before.epochs!);
  }
  expect(bests.at(-1)?.metric).toBe(study.best!.metric);
  expect(of("study.finished")).toHaveLength(1);
  expect(events.at(-1)).toMatchObject({ type: "study.finished", status: "succeeded" });
}

describe("a study on two server processes deciding at once", () => {
  it("makes every decision once: each trial started once, each promotion once, one job per segment", async () => {
    const [a, b] = await Promise.all([
      spawnServer({ databaseUrl: db.url, env: STUDY_ENV }),
      spawnServer({ databaseUrl: db.url, env: STUDY_ENV }),
    ]);
    const created = await createStudy(a, "two-deciders", 16);
    const segments = watchSegments(created.id);
    // Read through the other process: the study is in Postgres, not in a's memory.
    const study = await waitForStudyEnd(b.http, created.id);
    const jobs = await segments.stop();
    await expectAccountedFor(b, study, jobs);
    // Both processes took segments off the shared queue, each once.
    expect(new Set(jobs.map((j) => j.worker))).toEqual(new Set([a.workerId, b.workerId]));
    const ends = [...a.logs, ...b.logs].filter((l) => typeof l.end === "string");
    expect(
      ends
        .filter((l) => l.end === "succeeded")
        .map((l) => l.jobId)
        .sort(),
    ).toEqual(jobs.map((j) => j.id).sort());
    expect(ends.every((l) => l.end === "succeeded" && l.attempt === 1)).toBe(true);
    // Taking turns on the study's lock is not an error: neither conductor logged one.
    expect([...a.logs, ...b.logs].filter((l) => Number(l.level) >= 50)).toEqual([]);
  });
});

describe("a study whose server process is SIGKILLed mid-segment", () => {
  it("is finished by a second process, which reclaims the segment after its lease", async () => {
    const doomed = await spawnServer({ databaseUrl: db.url, env: STUDY_ENV });
    // One row per batch: a continuation segment (20 or 60 epochs) trains for long enough that
    // the kill lands inside it.
    const created = await createStudy(doomed, "killed-study", 1);
    const segments = watchSegments(created.id);

    // A continuation (segment 1 or 2) training in the doomed process, with epochs still to go.
    const target = await waitFor(
      "a continuation segment to be training",
      async () => {
        const { rows } = await db.pool.query<{ id: string; key: string }>(
          `SELECT id, idempotency_key AS key FROM training_jobs
            WHERE idempotency_key LIKE $1 AND idempotency_key NOT LIKE '%:segment:0'
              AND status = 'running' AND epoch >= 1 AND epoch <= epochs - 5`,
          [`study:${created.id}:%`],
        );
        return rows[0];
      },
      { timeoutMs: 90_000, intervalMs: 10 },
    );
    expect(await doomed.kill("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });

    // Nobody released it: still running, leased to the dead process, its epochs unfinished.
    const orphan = await jobRow(db.pool, target.id);
    expect(orphan).toMatchObject({ status: "running", attempts: 1, lease_owner: doomed.workerId });
    expect(orphan!.epoch).toBeLessThan(orphan!.epochs);
    const midway = await segmentJobs(created.id);

    const rescuer = await spawnServer({ databaseUrl: db.url, env: STUDY_ENV });
    const study = await waitForStudyEnd(rescuer.http, created.id);
    const jobs = await segments.stop();
    await expectAccountedFor(rescuer, study, jobs);

    // The killed segment is the same job (its idempotency key), trained again by the rescuer:
    // reclaimed once its lease expired, then its second attempt succeeded.
    expect(jobs.find((j) => j.key === target.key)?.id).toBe(target.id);
    const about = rescuer.logs.filter((l) => l.jobId === target.id);
    expect(about.find((l) => l.msg === "job lease expired; reclaimed")).toMatchObject({
      attempt: 1,
      previousWorker: doomed.workerId,
      workerId: rescuer.workerId,
    });
    expect(about.filter((l) => typeof l.end === "string")).toEqual([
      expect.objectContaining({ end: "succeeded", attempt: 2 }),
    ]);
    expect(rescuer.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
    // Segments the dead process had queued or finished are the same jobs now, not new ones.
    for (const before of midway) {
      expect(jobs.find((j) => j.key === before.key)?.id).toBe(before.id);
    }
  });
});
