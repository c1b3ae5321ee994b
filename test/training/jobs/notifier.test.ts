import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Prisma } from "../../../src/generated/prisma/client.ts";
import { createJob } from "../../../src/training/jobs/create-job.ts";
import { createJobNotifier, type JobNotifier } from "../../../src/training/jobs/notifier.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { until } from "../../helpers/wait.ts";
import { enqueueJob } from "./fixtures.ts";

let db: TestDatabase;
let notifier: JobNotifier | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await notifier?.stop();
  notifier = undefined;
});
afterAll(() => db.close());

const logger = pino({ level: "silent" });

/** A notifier whose notifications arrive in a list, skipping the wake-up after each connect. */
async function listen(options: { reconnectDelayMs?: number } = {}) {
  const received: string[] = [];
  const reconnects: number[] = [];
  notifier = createJobNotifier({
    url: db.url,
    logger,
    onNotify: (jobId) => {
      if (jobId) received.push(jobId);
      else reconnects.push(Date.now());
    },
    ...options,
  });
  await notifier.start();
  return { received, reconnects };
}

describe("job notifier", () => {
  it("is woken with the job's id once the enqueueing transaction commits", async () => {
    const { received } = await listen();

    const job = await enqueueJob(db.prisma);

    await until(() => received.length > 0);
    expect(received).toEqual([job.id]);
  });

  it("hears nothing of a job whose transaction rolled back", async () => {
    const { received } = await listen();

    await expect(
      db.prisma.$transaction(async (tx) => {
        await enqueueJobIn(tx);
        throw new Error("rollback");
      }),
    ).rejects.toThrow("rollback");
    const committed = await enqueueJob(db.prisma);

    await until(() => received.length > 0);
    expect(received).toEqual([committed.id]);
  });

  it("reconnects after losing its connection, and wakes the runner when it does", async () => {
    const { received, reconnects } = await listen({ reconnectDelayMs: 10 });
    expect(reconnects).toHaveLength(1);

    await db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'nnserve-notifier' AND datname = current_database()`,
    );
    await until(() => reconnects.length === 2 && notifier!.isListening());
    const job = await enqueueJob(db.prisma);

    await until(() => received.length > 0);
    expect(received).toEqual([job.id]);
  });

  it("keeps retrying, without throwing, while the database is unreachable", async () => {
    const unreachable = new URL(db.url);
    unreachable.port = "1";
    const calls: unknown[] = [];
    // The signal: the notifier logs each reconnect it schedules.
    let retries = 0;
    const counting = pino(
      { level: "warn" },
      {
        write(line: string) {
          if (line.includes("reconnecting")) retries++;
        },
      },
    );
    notifier = createJobNotifier({
      url: unreachable.toString(),
      logger: counting,
      onNotify: (jobId) => {
        calls.push(jobId);
      },
      reconnectDelayMs: 5,
      maxReconnectDelayMs: 20,
    });
    void notifier.start();
    await until(() => retries >= 3);

    expect(notifier.isListening()).toBe(false);
    expect(calls).toEqual([]);
  });
});

// A job row inside a transaction the test controls, so that it can roll it back.
async function enqueueJobIn(tx: Prisma.TransactionClient) {
  const model = await tx.model.create({ data: { name: "rolled-back" } });
  const version = await tx.modelVersion.create({
    data: { modelId: model.id, version: 1, architecture: {}, training: {} },
  });
  return createJob(tx, { versionId: version.id, epochs: 1, data: [] });
}
