/**
 * The StudyConductor runs every study forward, on every replica. Woken by the studies channel
 * (a study created or changed on any replica), by a job ending in this process, and by a
 * periodic tick (STUDY_TICK_MS, the source of truth: a NOTIFY is only a hint), it reconciles
 * each running study: one decision round under the study's lock (reconcile.ts), then the
 * submission of the segments decided (submit-segments.ts). Two conductors on the same study
 * take turns on its lock; what the second finds is the first one's result, so nothing is
 * decided or submitted twice.
 *
 * Its state is on the object, as the job runner's is: `running`, the last tick, the last
 * error, the studies seen at the last full pass. One pass at a time; a wake during a pass asks
 * for one more. Errors are logged (throttled) and kept, never thrown into the process.
 */
import type { Logger } from "pino";
import type { PrismaClient } from "../../generated/prisma/client.ts";
import { isAppError } from "../../platform/errors.ts";
import { LogThrottle } from "../../platform/log-throttle.ts";
import type { TrainingService } from "../contract.ts";
import { stopStudy } from "./cancel.ts";
import { type Reconciled, reconcileStudy } from "./reconcile.ts";
import { type Submitted, submitSegments } from "./submit-segments.ts";

export interface StudyConductorOptions {
  prisma: PrismaClient;
  training: TrainingService;
  logger: Logger;
  /** The periodic pass over every running study (STUDY_TICK_MS). */
  tickMs: number;
  /** A study ended and moved what serves (winner cleared, alias set, candidates deleted). */
  onRoutingChanged?(model: string): void;
}

export interface ReconcileReport {
  rounds: number;
  events: number;
  submitted: number;
  failed: number;
  running: boolean;
}

export class StudyConductor {
  running = false;
  lastTick: Date | undefined;
  lastError: unknown;
  /** Running studies found by the last full pass. */
  studiesSeen = 0;
  readonly #options: StudyConductorOptions;
  readonly #log: Logger;
  readonly #throttle = new LogThrottle();
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  /** What the next pass covers: some studies, or all of them. */
  #wanted: Set<string> | "all" | undefined;

  constructor(options: StudyConductorOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: "study-conductor" });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.#timer = setInterval(() => this.wake(), this.#options.tickMs);
    this.#timer.unref();
    this.wake();
  }

  /** No new passes; resolves when the one in progress has ended. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.#timer);
    this.#wanted = undefined;
    await this.#pass;
  }

  /** Reconcile this study soon, or every running one (no id: a tick, a reconnect). */
  wake(studyId?: string): void {
    if (!this.running) return;
    if (studyId === undefined) this.#wanted = "all";
    else if (this.#wanted === undefined) this.#wanted = new Set([studyId]);
    else if (this.#wanted !== "all") this.#wanted.add(studyId);
    this.#pass ??= this.#drain().finally(() => {
      this.#pass = undefined;
    });
  }

  async #drain(): Promise<void> {
    while (this.running && this.#wanted !== undefined) {
      const wanted = this.#wanted;
      this.#wanted = undefined;
      let ids: string[];
      try {
        ids = wanted === "all" ? await this.#runningStudies() : [...wanted];
      } catch (error) {
        this.#failed("list", error);
        return;
      }
      for (const id of ids) {
        if (!this.running) return;
        await this.reconcile(id).catch((error: unknown) => this.#failed(`study ${id}`, error));
      }
    }
  }

  async #runningStudies(): Promise<string[]> {
    this.lastTick = new Date();
    const rows = await this.#options.prisma.study.findMany({
      where: { status: "running" },
      select: { id: true },
      orderBy: { createdAt: "asc" },
    });
    this.studiesSeen = rows.length;
    return rows.map((r) => r.id);
  }

  /**
   * One study brought up to date: decide, submit what was decided, and decide again while
   * submissions failed (a failed trial frees its slot). Public for tests and tools.
   */
  async reconcile(studyId: string): Promise<ReconcileReport> {
    const { prisma, training, onRoutingChanged } = this.#options;
    const report: ReconcileReport = {
      rounds: 0,
      events: 0,
      submitted: 0,
      failed: 0,
      running: true,
    };
    // Each round that continues fails at least one trial, so a study has at most trials + 1.
    for (;;) {
      report.rounds++;
      const decided: Reconciled = await reconcileStudy(prisma, studyId);
      report.events += decided.events;
      report.running = decided.running;
      if (decided.routingChanged) onRoutingChanged?.(decided.routingChanged);
      if (decided.stop) {
        await stopStudy(prisma, training, studyId, { status: "failed", error: decided.stop }).catch(
          (error: unknown) => {
            // Another replica stopped it first.
            if (!isAppError(error) || error.code !== "CONFLICT") throw error;
          },
        );
        report.running = false;
        return report;
      }
      if (decided.toSubmit === 0) return this.#logged(studyId, report);
      const sent: Submitted = await submitSegments(prisma, training, studyId);
      report.submitted += sent.submitted;
      report.failed += sent.failed;
      if (sent.failed === 0) return this.#logged(studyId, report);
    }
  }

  /** A round that decided something is worth a line: which replica moved which study, how. */
  #logged(studyId: string, report: ReconcileReport): ReconcileReport {
    if (report.events > 0 || report.submitted > 0 || report.failed > 0) {
      this.#log.info({ studyId, ...report }, "study reconciled");
    }
    return report;
  }

  #failed(what: string, error: unknown): void {
    this.lastError = error;
    const admitted = this.#throttle.admit(what);
    if (admitted) {
      this.#log.error({ err: error, repeated: admitted.repeated }, `reconciling ${what} failed`);
    }
  }
}
