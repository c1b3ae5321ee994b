/**
 * A whole study through the real server and job runner (one training thread, real Postgres):
 * ASHA on Iris runs to the end with fewer epochs than every trial to maxEpochs, decides each
 * trial once, keeps only the winner (keep best), gives it the promote alias, and its candidate
 * versions never answered as the model's newest ready version while it ran.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Study, StudyEvent } from "../../../src/training/studies/schemas.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { irisCsv, uploadCsv } from "../../helpers/datasets.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
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
    // η 3 over 9 trials: the top third of each rung goes on, so most stop at rung 0 and at
    // least one trial reaches the top rung (9 epochs).
    const statuses = study.trials.map((t) => t.status);
    expect(statuses.every((s) => s === "pruned" || s === "completed")).toBe(true);
    expect(statuses.filter((s) => s === "completed").length).toBeGreaterThanOrEqual(1);
    expect(study.trials.filter((t) => t.epochs === 1).length).toBeGreaterThanOrEqual(5);

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
