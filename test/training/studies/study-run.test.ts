/**
 * A whole study through the real server and job runner (one training thread, real Postgres):
 * ASHA on Iris runs to the end with fewer epochs than every trial to maxEpochs, decides each
 * trial once, keeps only the winner (keep best) and gives it the promote alias; with keep all,
 * every trial's last version stays a pinnable candidate, and a promoted trial's weights are
 * those of one job trained the same total epochs, bit for bit; random search trains every trial
 * to maxEpochs; the event stream follows a study live to its end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStored } from "../../../src/platform/db/stored-json.ts";
import type { Study, StudyEvent } from "../../../src/training/studies/schemas.ts";
import { storedStudyRequest } from "../../../src/training/studies/stored.ts";
import { trialRequest } from "../../../src/training/studies/trial-request.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { irisCsv, uploadCsv } from "../../helpers/datasets.ts";
import { startTestServer, type TestServer, waitForJob } from "../../helpers/server.ts";
import { waitFor } from "../../helpers/wait.ts";
import { irisStudy } from "./fixtures.ts";

let db: TestDatabase;
let server: TestServer;
let irisId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  irisId = (await uploadCsv(server.url, "iris", await irisCsv())).id;
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

const studies = () => server.services.studies!;

async function finished(id: string, timeoutMs = 120_000): Promise<Study> {
  return waitFor(
    `study ${id} to end`,
    async () => {
      const study = await studies().get(id);
      return study.status === "running" ? undefined : study;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

describe("a study through the job runner", () => {
  it("runs ASHA to the end, spending fewer epochs than an exhaustive search", {
    timeout: 180_000,
  }, async () => {
    const created = await studies().create(irisStudy(irisId, { promote: { alias: "staging" } }));
    expect(created.status).toBe("running");
    expect(created.rungs).toEqual([1, 3, 9]);
    expect(created.trials).toHaveLength(9);
    expect(created.epochsIfExhaustive).toBe(81);

    const study = await finished(created.id);
    expect(study.status, JSON.stringify(study)).toBe("succeeded");
    expect(study.epochsSpent).toBeLessThan(study.epochsIfExhaustive);
    expect(study.best).not.toBeNull();
    // The best is judged where trials trained the most: at the top rung, the best result there.
    const top = study.trials.flatMap((t) =>
      t.rungs.filter((r) => r.epochs === 9).map((r) => ({ trial: t.trial, metric: r.metric })),
    );
    expect(study.best!.epochs).toBe(9);
    expect(study.best!.metric).toBe(Math.min(...top.map((r) => r.metric!)));
    // η 3 over 9 trials: the top third of each rung goes on, so most stop at rung 0 and at
    // least one trial reaches the top rung (9 epochs).
    const statuses = study.trials.map((t) => t.status);
    expect(statuses.every((s) => s === "pruned" || s === "completed")).toBe(true);
    expect(statuses.filter((s) => s === "completed").length).toBeGreaterThanOrEqual(1);
    // How many go on depends on the order results arrive in (asynchronous); some always stop.
    expect(statuses.filter((s) => s === "pruned").length).toBeGreaterThanOrEqual(1);

    const events: StudyEvent[] = await studies().events(study.id);
    const once = (type: string) => events.filter((e) => e.type === type).map((e) => e.trial);
    expect(new Set(once("trial.started")).size).toBe(9);
    expect(once("trial.started")).toHaveLength(9);
    expect(events.at(-1)).toMatchObject({ type: "study.finished", status: "succeeded" });
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));

    // keep best: one version left, a normal one, with the alias.
    const model = (
      await server.http.get<{ versions: { version: number }[]; latestVersion: number }>(
        "/models/iris-study",
      )
    ).body;
    expect(model.versions.map((v) => v.version)).toEqual([study.best!.version]);
    expect(model.latestVersion).toBe(study.best!.version);
    const aliases = await server.services.aliases!.list("iris-study");
    expect(aliases).toEqual([
      expect.objectContaining({ alias: "staging", version: study.best!.version }),
    ]);
  });
});

async function weightsOf(model: string, version: number): Promise<Buffer> {
  const { rows } = await db.pool.query<{ weights: Buffer }>(
    `SELECT v.weights FROM model_versions v JOIN models m ON m.id = v.model_id
      WHERE m.name = $1 AND v.version = $2`,
    [model, version],
  );
  return rows[0]!.weights;
}

describe("keep all", () => {
  it("keeps each trial's last version as a candidate; a continuation equals one whole job", {
    timeout: 180_000,
  }, async () => {
    const created = await studies().create(irisStudy(irisId, { model: "iris-all", keep: "all" }));
    const study = await finished(created.id);
    expect(study.status, JSON.stringify(study)).toBe("succeeded");
    const winner = study.best!.version!;

    const { rows } = await db.pool.query<{ version: number; study_id: string | null }>(
      `SELECT v.version, v.study_id FROM model_versions v JOIN models m ON m.id = v.model_id
        WHERE m.name = 'iris-all' ORDER BY v.version`,
    );
    const lasts = study.trials.map((t) => t.version);
    expect(lasts.every((v) => v !== null)).toBe(true);
    expect(rows.map((r) => r.version).sort((x, y) => x - y)).toEqual(
      [...new Set([...lasts, winner])].sort((x, y) => x! - y!),
    );
    for (const row of rows) {
      expect(row.study_id).toBe(row.version === winner ? null : study.id);
    }
    // Earlier rungs' versions went; their results keep the metric and lose the version.
    for (const t of study.trials) {
      for (const r of t.rungs.slice(0, -1)) {
        if (r.version !== winner) expect(r.version).toBeNull();
        expect(r.metric).not.toBeNull();
      }
    }
    // A pinned candidate predicts; the model's default is the winner.
    const candidate = rows.find((r) => r.study_id !== null)!.version;
    const row = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
    const pinned = await server.http.post<{ version: number }>("/predict", {
      model: "iris-all",
      version: candidate,
      inputs: [row],
    });
    expect(pinned.status, JSON.stringify(pinned.body)).toBe(200);
    const routed = await server.http.post<{ version: number }>("/predict", {
      model: "iris-all",
      inputs: [row],
    });
    expect(routed.body.version).toBe(winner);

    // The curves kept every epoch of every trial, though earlier versions are gone.
    const curves = await studies().curves(study.id);
    for (const t of study.trials) {
      const points = curves.trials.find((c) => c.trial === t.trial)!.points;
      expect(points.map((p) => p.epoch)).toEqual(Array.from({ length: t.epochs }, (_, i) => i + 1));
    }

    // A promoted trial (two segments or more) against one job of its total epochs.
    const promoted = study.trials.find((t) => t.rungs.length >= 2)!;
    const stored = await db.prisma.study.findUniqueOrThrow({ where: { id: study.id } });
    const request = trialRequest(readStored(storedStudyRequest, stored.request, "request"), {
      trial: promoted.trial,
      params: promoted.params,
      toEpochs: promoted.epochs,
      fromEpochs: 0,
    });
    const whole = await server.services.training.submit({ ...request, model: "iris-whole" });
    const job = await waitForJob(server.http, whole.job.id, undefined, 60_000);
    expect(job.status).toBe("succeeded");
    const continued = await weightsOf("iris-all", promoted.version!);
    expect(continued.equals(await weightsOf("iris-whole", 1))).toBe(true);
  });
});

describe("random search", () => {
  it("trains every trial to maxEpochs, once", { timeout: 120_000 }, async () => {
    const created = await studies().create(
      irisStudy(irisId, {
        model: "iris-random",
        scheduler: "random",
        budget: { trials: 3, maxEpochs: 3, maxConcurrent: 2 },
      }),
    );
    expect(created.rungs).toEqual([3]);
    const study = await finished(created.id);
    expect(study.status).toBe("succeeded");
    expect(study.trials.map((t) => [t.status, t.epochs])).toEqual([
      ["completed", 3],
      ["completed", 3],
      ["completed", 3],
    ]);
    expect(study.epochsSpent).toBe(study.epochsIfExhaustive);
  });
});

describe("follow", () => {
  it("yields every event as it happens, ends after study.finished, and resumes after an id", {
    timeout: 120_000,
  }, async () => {
    const created = await studies().create(irisStudy(irisId, { model: "iris-follow" }));
    const seen: StudyEvent[] = [];
    for await (const event of studies().follow(created.id, 0, new AbortController().signal)) {
      seen.push(event);
    }
    expect(seen.at(-1)?.type).toBe("study.finished");
    expect(seen).toEqual(await studies().events(created.id));
    const later: StudyEvent[] = [];
    const from = seen[seen.length - 3]!.id;
    for await (const event of studies().follow(created.id, from, new AbortController().signal)) {
      later.push(event);
    }
    expect(later).toEqual(seen.slice(-2));
    // After the end, nothing more comes: the stream ends at once.
    const none: StudyEvent[] = [];
    for await (const event of studies().follow(
      created.id,
      seen.at(-1)!.id,
      new AbortController().signal,
    )) {
      none.push(event);
    }
    expect(none).toEqual([]);
  });
});
