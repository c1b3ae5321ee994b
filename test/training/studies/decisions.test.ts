/**
 * A study's decisions with two deciders (two conductors, each on its own database client, as
 * two replicas) reconciling the same study at the same moment, round after round: every trial
 * starts once, every promotion makes one continuation job, every event is written once. On the
 * way: the study's candidate versions are not the model's newest ready version (resolver,
 * version lookup, model view) but answer when pinned, until the study ends and its winner does.
 * Then cancel: queued segments cancelled, a running one asked to stop, nothing queued after;
 * a segment submitted before a crash kept the job its key made; a segment that finds its API
 * key at the job limit waits for a later round; a study whose model or dataset is deleted
 * under it fails, saying which.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStored } from "../../../src/platform/db/stored-json.ts";
import { isAppError } from "../../../src/platform/errors.ts";
import { Resolver } from "../../../src/prediction/resolver.ts";
import { lookupVersion } from "../../../src/prediction/tabular/version-lookup.ts";
import { createJobQueue } from "../../../src/training/jobs/job-queue.ts";
import { reconcileStudy } from "../../../src/training/studies/reconcile.ts";
import type { StudyEvent } from "../../../src/training/studies/schemas.ts";
import { storedStudyRequest } from "../../../src/training/studies/stored.ts";
import { segmentKey } from "../../../src/training/studies/submit-segments.ts";
import { trialRequest } from "../../../src/training/studies/trial-request.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { irisCsv, uploadCsv } from "../../helpers/datasets.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { irisStudy } from "./fixtures.ts";
import { completeQueued, type Decider, decider } from "./harness.ts";

let db: TestDatabase;
let server: TestServer;
let irisId: string;
let a: Decider;
let b: Decider;

beforeAll(async () => {
  db = await createTestDatabase();
  // No job runner and no conductor here: the test is both replicas' conductors and the runner.
  server = await startTestServer({ databaseUrl: db.url, runJobs: false });
  irisId = (await uploadCsv(server.url, "iris", await irisCsv())).id;
  a = decider(db.url);
  b = decider(db.url);
});

afterAll(async () => {
  await a?.db.close();
  await b?.db.close();
  await server?.close();
  await db?.close();
});

const studies = () => server.services.studies!;

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return error.code;
    throw error;
  }
  return "none";
}

/**
 * Both deciders at once, then the stand-in runner, until the study ends; returns every segment
 * job that ran (trial/segment), whether or not its version was kept.
 */
async function runConcurrently(id: string, onRound?: () => Promise<void>): Promise<string[]> {
  const ran: string[] = [];
  for (let round = 0; round < 60; round++) {
    await Promise.all([a.conductor.reconcile(id), b.conductor.reconcile(id)]);
    if ((await studies().get(id)).status !== "running") return ran;
    ran.push(...(await completeQueued(db)).map((j) => `${j.trial}/${j.segment}`));
    await onRound?.();
  }
  throw new Error("the study did not end in 60 rounds");
}

describe("two deciders on one study", () => {
  it("start, promote and record each trial once; one job per decided segment", async () => {
    // A normal version first: it stays the newest ready version while candidates come and go.
    const normal = await server.services.training.submit({
      model: "iris-study",
      dataset: irisId,
      target: "species",
      network: {
        layers: [
          { units: 4, activation: "relu" },
          { units: 3, activation: "softmax" },
        ],
      },
      loss: "sparseCategoricalCrossentropy",
      optimizer: { name: "adam", learningRate: 0.01 },
      training: { epochs: 2, batchSize: 32, shuffle: true, validationSplit: 0 },
    });
    await completeQueued(db, () => 1);
    const study = await studies().create(irisStudy(irisId, { promote: { alias: "staging" } }));
    const resolver = new Resolver({ prisma: db.prisma, ttlMs: 0 });
    let candidatesSeen = 0;

    const ran = await runConcurrently(study.id, async () => {
      const ready = await db.pool.query<{ version: number }>(
        `SELECT version FROM model_versions WHERE study_id = $1 AND status = 'ready'`,
        [study.id],
      );
      if (ready.rows.length === 0) return;
      candidatesSeen += ready.rows.length;
      // Unpinned, the normal version answers; pinned, a candidate does.
      expect((await resolver.resolve({ model: "iris-study" })).version).toBe(normal.job.version);
      expect((await lookupVersion(db.pool, "iris-study", undefined)).version).toBe(
        normal.job.version,
      );
      expect((await server.services.models.get("iris-study")).latestVersion).toBe(
        normal.job.version,
      );
      const pinned = ready.rows[0]!.version;
      // The model's page names the study of each candidate, and of no other version.
      const listed = (await server.services.models.get("iris-study")).versions;
      expect(listed.find((v) => v.version === pinned)?.study).toBe(study.id);
      expect(listed.find((v) => v.version === normal.job.version)?.study).toBeNull();
      expect((await resolver.resolve({ model: "iris-study", version: pinned })).version).toBe(
        pinned,
      );
      expect((await lookupVersion(db.pool, "iris-study", pinned)).version).toBe(pinned);
    });
    expect(candidatesSeen).toBeGreaterThan(0);

    const done = await studies().get(study.id);
    expect(done.status, JSON.stringify(done)).toBe("succeeded");
    const events = await studies().events(study.id);
    const keyOf = (e: StudyEvent) => `${e.type}/${e.trial}/${e.rung}`;
    expect(new Set(events.map(keyOf)).size).toBe(events.length);
    const count = (type: string) => events.filter((e) => e.type === type).length;
    expect(count("trial.started")).toBe(9);
    expect(count("study.finished")).toBe(1);

    // One job per decided segment: the starts' segment 0 and each promotion's next one.
    expect(new Set(ran).size).toBe(ran.length);
    expect(ran).toHaveLength(count("trial.started") + count("trial.promoted"));
    for (const e of events.filter((x) => x.type === "trial.promoted")) {
      expect(ran).toContain(`${e.trial}/${e.rung}`);
    }
    const reached = done.trials.reduce((n, t) => n + t.rungs.length, 0);
    expect(count("rung.reached")).toBe(reached);
    expect(done.epochsSpent).toBe(done.trials.reduce((n, t) => n + t.epochs, 0));
    expect(done.epochsSpent).toBeLessThan(done.epochsIfExhaustive);

    // The winner: trial 9 has the lowest made-up metric ((9·7 mod 9)/10 = 0) at its top rung.
    expect(done.best).toMatchObject({ trial: 9 });
    const winner = done.best!.version!;
    expect((await resolver.resolve({ model: "iris-study" })).version).toBe(winner);
    expect((await server.services.models.get("iris-study")).latestVersion).toBe(winner);
    const aliases = await server.services.aliases!.list("iris-study");
    expect(aliases).toEqual([expect.objectContaining({ alias: "staging", version: winner })]);
    const history = await server.services.aliases!.history("iris-study", { limit: 100 });
    expect(history.events.filter((h) => h.kind === "alias_set")).toEqual([
      expect.objectContaining({ actor: `study ${study.id}`, toVersion: winner }),
    ]);
    // keep best: the normal version and the winner are all that is left.
    const versions = (await server.services.models.get("iris-study")).versions;
    expect(versions.map((v) => v.version)).toEqual([normal.job.version, winner]);
    // The winner is a normal version now.
    expect(versions.map((v) => v.study)).toEqual([null, null]);
    expect(
      done.trials.flatMap((t) => t.rungs.map((r) => r.version)).filter((v) => v !== null),
    ).toEqual([winner]);
    expect(await refusal(studies().cancel(study.id))).toBe("CONFLICT");
  });
});

describe("cancel", () => {
  it("cancels queued segments, stops the running one, and queues nothing after", async () => {
    const study = await studies().create(
      irisStudy(irisId, {
        model: "iris-cancel",
        budget: { trials: 9, maxEpochs: 9, minEpochs: 1, reductionFactor: 3, maxConcurrent: 3 },
      }),
    );
    await a.conductor.reconcile(study.id);
    const queue = createJobQueue({ pool: db.pool });
    const claimed = await queue.claimJob({ workerId: "test-runner", leaseMs: 60_000 });
    expect(claimed).not.toBeNull();

    const cancelled = await studies().cancel(study.id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.trials.every((t) => t.status === "cancelled")).toBe(true);
    const jobs = await db.pool.query<{ id: string; status: string; cancel_requested: boolean }>(
      `SELECT j.id, j.status, j.cancel_requested FROM training_jobs j
         JOIN model_versions v ON v.id = j.version_id WHERE v.study_id = $1`,
      [study.id],
    );
    expect(jobs.rows).toHaveLength(3);
    for (const job of jobs.rows) {
      if (job.id === claimed!.id)
        expect(job).toMatchObject({ status: "running", cancel_requested: true });
      else expect(job.status).toBe("cancelled");
    }

    await Promise.all([a.conductor.reconcile(study.id), b.conductor.reconcile(study.id)]);
    const after = await db.pool.query(
      `SELECT 1 FROM training_jobs j JOIN model_versions v ON v.id = j.version_id
        WHERE v.study_id = $1 AND j.status = 'queued'`,
      [study.id],
    );
    expect(after.rowCount).toBe(0);
    expect(await refusal(studies().cancel(study.id))).toBe("CONFLICT");
    const events = await studies().events(study.id);
    expect(events.filter((e) => e.type === "study.finished")).toEqual([
      expect.objectContaining({ status: "cancelled" }),
    ]);
    expect(await refusal(studies().get("00000000-0000-4000-8000-000000000000"))).toBe("NOT_FOUND");
  });
});

describe("exactly once across a crash", () => {
  it("a segment submitted before a crash keeps the job its key made", async () => {
    const study = await studies().create(irisStudy(irisId, { model: "iris-crash" }));
    // The decision is recorded; the conductor then "dies" before submitting. Someone (a
    // conductor that crashed after its submit, before storing the job) submitted trial 1's.
    const decided = await reconcileStudy(db.prisma, study.id);
    expect(decided.toSubmit).toBe(2);
    const row = await db.prisma.study.findUniqueOrThrow({ where: { id: study.id } });
    const trial = study.trials[0]!;
    const early = await server.services.training.submit(
      trialRequest(readStored(storedStudyRequest, row.request, "request"), {
        trial: trial.trial,
        params: trial.params,
        toEpochs: 1,
        fromEpochs: 0,
      }),
      { idempotencyKey: segmentKey(study.id, 1, 0), studyId: study.id },
    );
    await a.conductor.reconcile(study.id);
    const after = await studies().get(study.id);
    expect(after.trials[0]!.job).toBe(early.job.id);
    const jobs = await db.pool.query(
      `SELECT 1 FROM training_jobs j JOIN model_versions v ON v.id = j.version_id WHERE v.study_id = $1`,
      [study.id],
    );
    expect(jobs.rowCount).toBe(2);
    await studies().cancel(study.id);
  });
});

describe("the submitter's job limit", () => {
  it("a segment past the key's limit waits, and is queued once a job of the key ends", async () => {
    const key = await db.pool.query<{ id: string }>(
      `INSERT INTO api_keys (name, prefix, hash, scopes) VALUES ('t', 'nns_limit01', 'x', 'train')
       RETURNING id::text`,
    );
    const submitter = { keyId: key.rows[0]!.id, prefix: "nns_limit01" };
    const limited = decider(db.url, 2);
    try {
      const other = await limited.training.submit(
        {
          model: "iris-other",
          dataset: irisId,
          target: "species",
          network: { layers: [{ units: 3, activation: "softmax" }] },
          loss: "sparseCategoricalCrossentropy",
          optimizer: { name: "adam", learningRate: 0.01 },
          training: { epochs: 1, batchSize: 32, shuffle: true, validationSplit: 0 },
        },
        { submitter },
      );
      const study = await studies().create(irisStudy(irisId, { model: "iris-limit" }), {
        submitter,
      });
      const first = await limited.conductor.reconcile(study.id);
      expect(first).toMatchObject({ submitted: 1, failed: 0 });
      let view = await studies().get(study.id);
      expect(view.trials.slice(0, 2).map((t) => [t.status, t.job !== null])).toEqual([
        ["running", true],
        ["running", false],
      ]);
      await server.services.training.cancel(other.job.id);
      expect(await limited.conductor.reconcile(study.id)).toMatchObject({ submitted: 1 });
      view = await studies().get(study.id);
      expect(view.trials.slice(0, 2).every((t) => t.job !== null)).toBe(true);
      const owned = await db.pool.query(
        `SELECT 1 FROM training_jobs j JOIN model_versions v ON v.id = j.version_id
          WHERE v.study_id = $1 AND j.api_key_id = $2`,
        [study.id, submitter.keyId],
      );
      expect(owned.rowCount).toBe(2);
      await studies().cancel(study.id);
    } finally {
      await limited.db.close();
    }
  });
});

describe("inputs deleted under a study", () => {
  it("fails the study when its model is deleted", async () => {
    const study = await studies().create(irisStudy(irisId, { model: "iris-gone" }));
    await a.conductor.reconcile(study.id);
    await completeQueued(db);
    await a.conductor.reconcile(study.id);
    await server.services.models.delete("iris-gone");
    await Promise.all([a.conductor.reconcile(study.id), b.conductor.reconcile(study.id)]);
    const failed = await studies().get(study.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/model "iris-gone" was deleted/);
    const events = await studies().events(study.id);
    expect(events.filter((e) => e.type === "study.finished")).toEqual([
      expect.objectContaining({ status: "failed" }),
    ]);
    expect(await server.services.models.get("iris-gone").catch((e) => e.code)).toBe("NOT_FOUND");
  });

  it("fails the study and cancels its queued segments when its dataset is deleted", async () => {
    const copy = (await uploadCsv(server.url, "iris-copy", await irisCsv())).id;
    const study = await studies().create(irisStudy(copy, { model: "iris-nodata" }));
    await a.conductor.reconcile(study.id);
    await server.services.datasets.delete(copy);
    await a.conductor.reconcile(study.id);
    const failed = await studies().get(study.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/dataset was deleted/);
    expect(failed.dataset).toBeNull();
    const queued = await db.pool.query(
      `SELECT 1 FROM training_jobs j JOIN model_versions v ON v.id = j.version_id
        WHERE v.study_id = $1 AND j.status = 'queued'`,
      [study.id],
    );
    expect(queued.rowCount).toBe(0);
  });
});
