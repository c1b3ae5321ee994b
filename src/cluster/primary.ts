/**
 * SERVE_PROCESSES > 1: this process serves nothing itself. It forks that many serving
 * processes (serving-process.ts) that share the REST and gRPC ports through node:cluster (the
 * primary accepts each connection and hands it round-robin to a process, which then keeps it),
 * answers their metrics scrapes with the aggregate of all of them, restarts one that dies (with
 * backoff), and stops them all on SIGTERM/SIGINT.
 *
 * Exactly one slot (0) runs the job runner and its WORKERS training threads; the others only
 * serve. The training capacity is so the same as one process's, and the cores are not
 * oversubscribed by SERVE_PROCESSES x WORKERS training threads (docs/architecture.md).
 *
 * Exit codes: 0 after a clean stop of every process; 1 when the processes cannot start, a slot
 * keeps dying before it is ready (restart-policy.ts), or one did not stop cleanly.
 */
import cluster, { type Worker } from "node:cluster";
import closeWithGrace from "close-with-grace";
import type { Config } from "../platform/config.ts";
import { startEmbeddedPostgres } from "../platform/db/embedded.ts";
import type { Logger } from "../platform/logger.ts";
import { createMetricsAggregator } from "./cluster-metrics.ts";
import { isServingMessage, RUNS_JOBS_ENV } from "./messages.ts";
import { afterDeath, type SlotHistory } from "./restart-policy.ts";

interface Slot {
  index: number;
  worker?: Worker;
  /** When its current process became ready. */
  readyAt?: number;
  history: SlotHistory;
  restartTimer?: NodeJS.Timeout;
}

type Ready = { url: string; grpcAddress: string };

/** A serving process that exited after every slot was ready once. */
interface Death {
  servingPid?: number;
  code: number;
  signal: string;
  servedMs: number | undefined;
}

export interface PrimaryOptions {
  config: Config;
  logger: Logger;
}

export async function runPrimary({ config, logger }: PrimaryOptions): Promise<void> {
  const { databaseUrl, stopDatabase } = await sharedDatabase(config, logger);

  const metrics = createMetricsAggregator();
  const slots = newSlots(config.serveProcesses);
  let stopping = false;
  /** Every slot was ready once: from then on a death is restarted, before it fails the start. */
  let started = false;
  /** A slot kept dying before it was ready: the whole server stops, with exit code 1. */
  let givenUp = false;
  let stopEverything = () => {};
  const exitCodes: (number | null)[] = [];

  /** Forks the slot's process; resolves when it is ready, rejects if it exits before. */
  function fork(slot: Slot): Promise<Ready> {
    const worker = startProcess(slot, databaseUrl, logger);
    metrics.serve(worker);
    const servingPid = worker.process.pid;
    return new Promise<Ready>((resolve, reject) => {
      worker.on("message", (message: unknown) => {
        if (!isServingMessage(message) || message.type !== "nnserve:ready") return;
        slot.readyAt = Date.now();
        resolve({ url: message.url, grpcAddress: message.grpcAddress });
      });
      worker.once("exit", (code, signal) => {
        const servedMs = slot.readyAt === undefined ? undefined : Date.now() - slot.readyAt;
        slot.worker = undefined;
        reject(
          new Error(`serving process ${servingPid} exited before it was ready (code ${code})`),
        );
        if (stopping || !started) {
          // One stopped before it was ready had nothing to finish; its signal is no failure.
          if (servedMs !== undefined) exitCodes.push(code);
          return;
        }
        onDeath(slot, { servingPid, code, signal, servedMs });
      });
    });
  }

  function onDeath(slot: Slot, death: Death) {
    const decision = afterDeath(slot.history, death.servedMs);
    slot.history = decision.history;
    if (decision.action === "give-up") {
      logger.fatal(
        { slot: slot.index, ...death, failedStarts: decision.history.failedStarts },
        "serving process keeps dying before it is ready; stopping",
      );
      givenUp = true;
      stopEverything();
      return;
    }
    logger.error(
      { slot: slot.index, ...death, restartInMs: decision.delayMs },
      "serving process exited; restarting it",
    );
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (stopping) return;
      fork(slot).then(
        () =>
          logger.info(
            { slot: slot.index, servingPid: slot.worker?.process.pid },
            "serving process replaced",
          ),
        () => {}, // its exit is handled as a death of its own
      );
    }, decision.delayMs);
  }

  /** Asks every process to stop as on SIGTERM; SIGKILLs any still running past the deadline. */
  function stopAll(deadlineMs: number): Promise<void> {
    stopping = true;
    return stopServingProcesses(slots, deadlineMs, logger);
  }

  // A worker's own grace is SHUTDOWN_GRACE_MS + 10 s; the primary waits a little longer.
  const workerDeadlineMs = config.shutdownGraceMs + 12_000;
  let ready: Ready;
  try {
    [ready] = await Promise.all(slots.map(fork));
  } catch (error) {
    await stopAll(workerDeadlineMs);
    await stopDatabase();
    throw error;
  }
  started = true;
  logReady(logger, ready, slots);

  const grace = closeWithGrace(
    { delay: workerDeadlineMs + 5_000, logger },
    async ({ signal, err }) => {
      if (err) logger.error({ err }, "stopping after an uncaught error");
      else logger.info({ signal }, "stopping every serving process");
      await stopAll(workerDeadlineMs);
      await stopDatabase();
      // close-with-grace exits 1 on a throw, 0 otherwise.
      throwUnlessClean(givenUp, exitCodes);
    },
  );
  stopEverything = () => void grace.close();
}

/** Forks the slot's serving process; only slot 0 runs the job runner. */
function startProcess(slot: Slot, databaseUrl: string, logger: Logger): Worker {
  const worker = cluster.fork({
    [RUNS_JOBS_ENV]: slot.index === 0 ? "1" : "0",
    DATABASE_URL: databaseUrl,
  });
  slot.worker = worker;
  slot.readyAt = undefined;
  // pino's own `pid` is the primary's; a serving process is named `servingPid`.
  logger.info(
    { slot: slot.index, servingPid: worker.process.pid, runsJobs: slot.index === 0 },
    "serving process started",
  );
  return worker;
}

/** Stops every slot's process as on SIGTERM; SIGKILLs any still running past the deadline. */
async function stopServingProcesses(
  slots: readonly Slot[],
  deadlineMs: number,
  logger: Logger,
): Promise<void> {
  const running: Promise<unknown>[] = [];
  for (const slot of slots) {
    clearTimeout(slot.restartTimer);
    const { worker } = slot;
    if (!worker || worker.isDead()) continue;
    running.push(new Promise((done) => worker.once("exit", done)));
    // Still starting, it listens for neither the message nor signals yet, and holds no job.
    if (slot.readyAt === undefined || !worker.isConnected()) worker.process.kill("SIGTERM");
    else worker.send({ type: "nnserve:shutdown" });
  }
  const kill = setTimeout(() => {
    for (const slot of slots) {
      if (slot.worker && !slot.worker.isDead()) {
        logger.error(
          { servingPid: slot.worker.process.pid },
          "serving process did not stop; killing it",
        );
        slot.worker.process.kill("SIGKILL");
      }
    }
  }, deadlineMs);
  await Promise.all(running);
  clearTimeout(kill);
}

/** DATABASE_URL, or one embedded server for all the processes, owned by the primary. */
async function sharedDatabase(config: Config, logger: Logger) {
  if (config.databaseUrl) return { databaseUrl: config.databaseUrl, stopDatabase: async () => {} };
  const embedded = await startEmbeddedPostgres({ logger });
  logger.info("DATABASE_URL is unset: using an embedded Postgres");
  return { databaseUrl: embedded.url, stopDatabase: embedded.stop };
}

function newSlots(count: number): Slot[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    history: { failures: 0, failedStarts: 0 },
  }));
}

function logReady(logger: Logger, ready: Ready, slots: readonly Slot[]): void {
  logger.info(
    {
      url: ready.url,
      grpc: ready.grpcAddress,
      docs: `${ready.url}/docs`,
      processes: slots.map((slot) => slot.worker?.process.pid),
    },
    "nnserve is ready",
  );
}

/** The primary's exit: an error when a slot was given up or a process stopped uncleanly. */
function throwUnlessClean(givenUp: boolean, exitCodes: readonly (number | null)[]): void {
  if (givenUp) throw new Error("a serving process could not be restarted");
  const unclean = exitCodes.filter((code) => code !== 0);
  if (unclean.length > 0) throw new Error(`serving processes exited with ${unclean.join(", ")}`);
}
