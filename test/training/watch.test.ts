/**
 * The shared job watch (src/training/watch.ts) over a scripted job: what each follower is
 * told (late joiners, resuming, a new attempt, the end), and that one poller serves them all.
 * The job is an in-memory stand-in for getJob/jobMetrics, which the e2e tests (test/e2e/
 * job-events.test.ts, test/transport/grpc) cover on a real database.
 */
import { describe, expect, it } from "vitest";
import { notFound } from "../../src/platform/errors.ts";
import type { Job } from "../../src/training/jobs/schemas.ts";
import { createJobWatch, type EpochRecord, type JobUpdate } from "../../src/training/watch.ts";
import { until } from "../helpers/wait.ts";
import { fakeJob } from "../transport/http/fake-services.ts";

function scriptedJob() {
  let job = fakeJob({ progress: { epoch: 0, epochs: 10 } });
  let epochs: EpochRecord[] = [];
  const reads = { getJob: 0, jobMetrics: 0 };
  return {
    reads,
    training: {
      async getJob(id: string) {
        reads.getJob++;
        if (id !== job.id) throw notFound("job", id);
        return job;
      },
      async jobMetrics(id: string, afterEpoch = 0) {
        reads.jobMetrics++;
        return { jobId: id, epochs: epochs.filter((e) => e.epoch > afterEpoch) };
      },
    },
    get id() {
      return job.id;
    },
    set(patch: Partial<Job>) {
      job = { ...job, ...patch };
    },
    /** Records epochs up to n of the current attempt. */
    reach(n: number) {
      for (let e = (epochs.at(-1)?.epoch ?? 0) + 1; e <= n; e++) {
        epochs.push({ epoch: e, loss: 1 / e, durationMs: 1 });
      }
      job = { ...job, status: "running", progress: { ...job.progress, epoch: n } };
    },
    newAttempt() {
      epochs = [];
      job = { ...job, attempts: job.attempts + 1, progress: { ...job.progress, epoch: 0 } };
    },
  };
}

async function collect(updates: AsyncGenerator<JobUpdate>) {
  const seen: JobUpdate[] = [];
  for await (const update of updates) seen.push(update);
  return seen;
}

describe("the job watch", () => {
  it("gives each follower every epoch once, in order, and ends with the final state", async () => {
    const job = scriptedJob();
    const watch = createJobWatch({ training: job.training, pollMs: 10 });
    job.set({ attempts: 1 });
    job.reach(3);
    const early = collect(watch.watch(job.id));
    await until(() => job.reads.getJob >= 2);
    job.reach(6);
    // A late follower first gets everything so far.
    const late = collect(watch.watch(job.id));
    await until(() => watch.followers() === 2);
    expect(watch.pollers()).toBe(1);
    job.reach(10);
    job.set({ status: "succeeded", finishedAt: "2026-12-04T00:00:00.000Z" });

    for (const updates of [await early, await late]) {
      expect(updates[0]!.first).toBe(true);
      expect(updates.flatMap((u) => u.epochs.map((e) => e.epoch))).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
      ]);
      expect(updates.at(-1)).toMatchObject({ finished: true, job: { status: "succeeded" } });
      expect(updates.filter((u) => u.finished)).toHaveLength(1);
    }
    expect(watch.pollers()).toBe(0);
    expect(watch.followers()).toBe(0);
  });

  it("resumes after an epoch, and starts the epochs over when a new attempt begins", async () => {
    const job = scriptedJob();
    const watch = createJobWatch({ training: job.training, pollMs: 10 });
    job.set({ attempts: 1 });
    job.reach(4);
    const updates: JobUpdate[] = [];
    const done = (async () => {
      for await (const u of watch.watch(job.id, { afterEpoch: 2 })) updates.push(u);
    })();
    await until(() => updates.length > 0);
    expect(updates[0]!.epochs.map((e) => e.epoch)).toEqual([3, 4]);

    job.newAttempt();
    job.reach(2);
    await until(() => updates.some((u) => u.restarted));
    const restart = updates.find((u) => u.restarted)!;
    expect(restart.job.attempts).toBe(2);
    expect(restart.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    job.set({ status: "failed", error: "boom" });
    await done;
    expect(updates.at(-1)).toMatchObject({ finished: true, statusChanged: true });
  });

  it("reads the epochs only when one has finished, and stops polling once the last follower leaves", async () => {
    const job = scriptedJob();
    const watch = createJobWatch({ training: job.training, pollMs: 10 });
    const stop = new AbortController();
    const following = collect(watch.watch(job.id, { signal: stop.signal }));
    await until(() => job.reads.getJob >= 5);
    // Queued, no epoch yet: the job is read, its epochs never.
    expect(job.reads.jobMetrics).toBe(0);
    stop.abort();
    expect((await following).map((u) => u.job.status)).toEqual(["queued"]);
    expect(watch.pollers()).toBe(0);
    // The signal that polling stopped: the poll loop returns (a loop still polling would never
    // settle, and the test would time out), so nothing is left to read the job again.
    const reads = job.reads.getJob;
    await watch.settled();
    expect(job.reads.getJob).toBe(reads);
    expect(watch.pollers()).toBe(0);
  });

  it("throws what getJob throws for an unknown job, to every follower", async () => {
    const job = scriptedJob();
    const watch = createJobWatch({ training: job.training, pollMs: 10 });
    const unknown = "00000000-0000-4000-8000-000000000000";
    await expect(collect(watch.watch(unknown))).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(watch.pollers()).toBe(0);
  });
});
