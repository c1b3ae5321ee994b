/**
 * A batch scoring job survives its process: a real `node src/main.ts` is SIGKILLed while it
 * scores, a second process reclaims the job once the lease expires and resumes at the first
 * chunk not stored. Every row comes out exactly once, in order, equal to /predict.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchPrediction } from "../../src/prediction/batch/schemas.ts";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { uploadCsv } from "../helpers/datasets.ts";
import { spawnServer, stopSpawnedServers, waitFor, waitForJob } from "../helpers/server.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await stopSpawnedServers();
  await db?.close();
});

const ROWS = 10_000;
const CHUNK = 20;
const env = { SCORING_CHUNK_ROWS: String(CHUNK) };

const row = (i: number) => ({ x: (i % 97) / 10, plan: ["basic", "pro", "team"][(i % 5) % 3]! });

describe("batch scoring after a SIGKILL", () => {
  it("resumes from the last stored chunk with no row lost or written twice", async () => {
    const first = await spawnServer({ databaseUrl: db.url, env });
    const training = ["x,plan,y"];
    for (let i = 0; i < 60; i++) {
      const { x, plan } = row(i * 7);
      training.push(`${x},${plan},${x > 5 ? "high" : "low"}`);
    }
    const small = await uploadCsv(first.url, "train", training.join("\n"));
    const accepted = await first.http.post<TrainAccepted>("/train", {
      model: "scores",
      dataset: small.id,
      target: "y",
      network: {
        layers: [
          { units: 4, activation: "relu" },
          { units: 1, activation: "sigmoid" },
        ],
      },
      loss: "binaryCrossentropy",
      training: { epochs: 5, batchSize: 16, seed: 1 },
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    expect((await waitForJob(first.http, accepted.body.jobId)).status).toBe("succeeded");

    const big = ["id,x,plan"];
    for (let i = 0; i < ROWS; i++) big.push(`r${i},${row(i).x},${row(i).plan}`);
    const dataset = await uploadCsv(first.url, "big", big.join("\n"));

    const started = await first.http.post<BatchPrediction>("/models/scores/batch-predictions", {
      dataset: dataset.id,
      passthrough: ["id"],
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const id = started.body.id;
    // Killed as soon as some chunks are stored, long before the last of its 500.
    const doneAtKill = await waitFor(
      "the first chunks",
      async () => {
        const { rows } = await db.pool.query<{ rows_done: number }>(
          "SELECT rows_done FROM batch_predictions WHERE id = $1",
          [id],
        );
        return rows[0]!.rows_done > 0 ? rows[0]!.rows_done : undefined;
      },
      { intervalMs: 5 },
    );
    await first.kill("SIGKILL");
    const { rows: atDeath } = await db.pool.query<{
      rows_done: number;
      next_chunk: number;
      status: string;
    }>("SELECT rows_done, next_chunk, status FROM batch_predictions WHERE id = $1", [id]);
    expect(atDeath[0]!.status).toBe("running");
    expect(atDeath[0]!.rows_done).toBeGreaterThanOrEqual(doneAtKill);
    expect(atDeath[0]!.rows_done).toBeLessThan(ROWS);
    expect(atDeath[0]!.rows_done).toBe(atDeath[0]!.next_chunk * CHUNK);

    const second = await spawnServer({ databaseUrl: db.url, env });
    const done = await waitFor(
      "the resumed job",
      async () => {
        const r = await second.http.get<BatchPrediction>(`/batch-predictions/${id}`);
        return r.body.status === "succeeded" || r.body.status === "failed" ? r.body : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    expect(done).toMatchObject({ status: "succeeded", rowsDone: ROWS, attempts: 2 });
    const resumed = second.logs.find((line) => line.msg === "batch job claimed");
    // A chunk's write already sent when the process died may still commit after the read
    // above (Postgres finishes a statement whose client is gone), so the second attempt starts
    // at that chunk or a later one: never from the beginning, never before a stored chunk.
    expect(resumed?.nextChunk).toBeGreaterThanOrEqual(atDeath[0]!.next_chunk);
    expect(resumed?.nextChunk).toBeGreaterThan(0);

    const { rows: chunks } = await db.pool.query<{ n: number; rows: number; max: number }>(
      "SELECT count(*)::int AS n, sum(rows)::int AS rows, max(chunk) AS max FROM batch_prediction_chunks WHERE batch_id = $1",
      [id],
    );
    expect(chunks[0]).toEqual({ n: ROWS / CHUNK, rows: ROWS, max: ROWS / CHUNK - 1 });

    const response = await fetch(`${second.url}/batch-predictions/${id}/results`);
    const lines = (await response.text()).trim().split("\n");
    expect(lines).toHaveLength(ROWS);
    const records = lines.map(
      (line) =>
        JSON.parse(line) as { id: string; label: string; probabilities: Record<string, number> },
    );
    records.forEach((record, i) => {
      if (record.id !== `r${i}`) expect(record.id).toBe(`r${i}`);
    });

    // The rows both processes scored equal /predict: the first and last hundred.
    for (const start of [0, ROWS - 100]) {
      const predicted = await second.http.post<PredictResponse>("/predict", {
        model: "scores",
        inputs: Array.from({ length: 100 }, (_, k) => row(start + k)),
      });
      expect(predicted.status).toBe(200);
      predicted.body.predictions!.forEach((p, k) => {
        const record = records[start + k]!;
        expect(record.label).toBe((p as { label: string }).label);
        expect(record.probabilities.high).toBeCloseTo(
          (p as { probabilities: Record<string, number> }).probabilities.high!,
          6,
        );
      });
    }
  }, 240_000);
});
