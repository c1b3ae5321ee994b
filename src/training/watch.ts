/**
 * Following a job as it trains, for every transport that streams it (gRPC WatchJob, the REST
 * server-sent events at GET /jobs/{id}/events, and through those the dashboard).
 *
 * One poller per job, however many clients follow it: it reads the job (getJob) every `pollMs`,
 * and, only when an epoch has finished since the last read, the epochs after the last it has. The jobs
 * table is the source of truth, so a watcher on any replica sees a job trained by any other; a
 * NOTIFY would only save a little latency, and every replica would have to send one per epoch.
 * The poller stops once the job has finished or its last follower has left.
 *
 * Each follower keeps its own cursor over the shared state, so one that joins late (or resumes
 * after epoch N) first gets everything it has not seen, then what follows. A new attempt trains
 * from scratch and records its epochs from 1 again: followers are told (`restarted`) and get the
 * new attempt's epochs.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { TrainingService } from "./contract.ts";
import { FINISHED_JOB_STATUSES, type Job, type JobMetrics } from "./jobs/schemas.ts";

export type EpochRecord = JobMetrics["epochs"][number];

/** What changed since the follower's previous update. */
export interface JobUpdate {
  /** The job as last read. */
  job: Job;
  /** Epochs the follower has not been given yet, in order. */
  epochs: EpochRecord[];
  /** True on the follower's first update. */
  first: boolean;
  /** The job view differs from the one in the previous update (always true on the first). */
  jobChanged: boolean;
  /** The job's status differs from the previous update's (always true on the first). */
  statusChanged: boolean;
  /** A new attempt began: epochs count from 1 again. */
  restarted: boolean;
  /** The job has reached its final state: this is the last update. */
  finished: boolean;
}

export interface WatchOptions {
  /** Ends the watch (the generator returns). */
  signal?: AbortSignal;
  /** Epochs up to this one are not sent (a client resuming); default 0. */
  afterEpoch?: number;
}

export interface JobWatch {
  /**
   * Updates until the job has finished (the last one has `finished`), or until the signal
   * aborts. Throws what getJob throws (an unknown job: NOT_FOUND).
   */
  watch(id: string, options?: WatchOptions): AsyncGenerator<JobUpdate, void, undefined>;
  /** Jobs polled right now: one per job, however many followers each has. */
  pollers(): number;
  /** Followers right now, over all jobs. */
  followers(): number;
  /** Resolves once every poll loop started so far has returned (shutdown, tests). */
  settled(): Promise<void>;
}

interface SharedState {
  job: Job;
  epochs: EpochRecord[];
}

interface Poller {
  followers: number;
  /** Bumped on each read; followers wait for it to move. */
  revision: number;
  state: SharedState | undefined;
  error: unknown;
  done: boolean;
  stop: AbortController;
  waiters: Set<() => void>;
}

/** How often a followed job is read: an epoch shows within this, and one query per job per tick. */
export const JOB_WATCH_POLL_MS = 200;

/** Wakes the poller's followers: its state has moved on. */
function publish(poller: Poller): void {
  poller.revision++;
  for (const wake of poller.waiters) wake();
  poller.waiters.clear();
}

/** Resolves once the poller has read past `seen`; false if the signal aborted first. */
function changed(poller: Poller, seen: number, signal?: AbortSignal): Promise<boolean> {
  if (poller.revision > seen) return Promise.resolve(true);
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      poller.waiters.delete(wake);
      resolve(false);
    };
    const wake = () => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    };
    poller.waiters.add(wake);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function createJobWatch({
  training,
  pollMs = JOB_WATCH_POLL_MS,
}: {
  training: Pick<TrainingService, "getJob" | "jobMetrics">;
  pollMs?: number;
}): JobWatch {
  const pollers = new Map<string, Poller>();
  let followers = 0;
  /** The poll loops still running (a stopped one may be inside its last read). */
  const loops = new Set<Promise<void>>();

  async function poll(id: string, poller: Poller) {
    let attempts: number | undefined;
    let epochs: EpochRecord[] = [];
    try {
      while (!poller.stop.signal.aborted) {
        // The job first, then its epochs: once the job has finished, every epoch is stored.
        const job = await training.getJob(id);
        if (attempts !== undefined && job.attempts !== attempts) epochs = [];
        attempts = job.attempts;
        const last = epochs.at(-1)?.epoch ?? 0;
        if (job.progress.epoch > last)
          epochs = epochs.concat((await training.jobMetrics(id, last)).epochs);
        poller.state = { job, epochs };
        if (FINISHED_JOB_STATUSES.includes(job.status)) poller.done = true;
        publish(poller);
        if (poller.done) return;
        await sleep(pollMs, undefined, { signal: poller.stop.signal }).catch(() => {});
      }
    } catch (error) {
      poller.error = error;
      poller.done = true;
      publish(poller);
    } finally {
      if (pollers.get(id) === poller) pollers.delete(id);
    }
  }

  function join(id: string): Poller {
    let poller = pollers.get(id);
    if (!poller || poller.done) {
      poller = {
        followers: 0,
        revision: 0,
        state: undefined,
        error: undefined,
        done: false,
        stop: new AbortController(),
        waiters: new Set(),
      };
      pollers.set(id, poller);
      const loop = poll(id, poller);
      loops.add(loop);
      void loop.finally(() => loops.delete(loop));
    }
    poller.followers++;
    followers++;
    return poller;
  }

  function leave(id: string, poller: Poller) {
    followers--;
    if (--poller.followers > 0) return;
    poller.stop.abort();
    if (pollers.get(id) === poller) pollers.delete(id);
  }

  async function* watch(
    id: string,
    { signal, afterEpoch = 0 }: WatchOptions = {},
  ): AsyncGenerator<JobUpdate, void, undefined> {
    const poller = join(id);
    try {
      let seen = 0;
      let lastEpoch = afterEpoch;
      let previous: { key: string; status: Job["status"]; attempts: number } | undefined;
      for (;;) {
        if (!(await changed(poller, seen, signal))) return;
        seen = poller.revision;
        if (poller.error !== undefined) throw poller.error;
        const { job, epochs } = poller.state!;
        const restarted = previous !== undefined && job.attempts !== previous.attempts;
        if (restarted) lastEpoch = 0;
        const fresh = epochs.filter((epoch) => epoch.epoch > lastEpoch);
        lastEpoch = fresh.at(-1)?.epoch ?? lastEpoch;
        const key = JSON.stringify(job);
        const finished = FINISHED_JOB_STATUSES.includes(job.status);
        const update: JobUpdate = {
          job,
          epochs: fresh,
          first: previous === undefined,
          jobChanged: key !== previous?.key,
          statusChanged: job.status !== previous?.status,
          restarted,
          finished,
        };
        previous = { key, status: job.status, attempts: job.attempts };
        if (update.first || update.jobChanged || fresh.length > 0) yield update;
        if (finished) return;
      }
    } finally {
      leave(id, poller);
    }
  }

  return {
    watch,
    pollers: () => pollers.size,
    followers: () => followers,
    settled: async () => {
      await Promise.all(loops);
    },
  };
}
