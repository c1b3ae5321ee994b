/**
 * The studies feature behind contract.ts: create (checked against the dataset, then stored
 * with its sampled trials), reads, cancel, and the event stream. The decisions themselves are
 * the conductor's (conductor.ts), on whichever replica takes the study's lock first.
 */
import { randomInt } from "node:crypto";
import type { DatasetService } from "../../datasets/service.ts";
import { pageAfter, toPage } from "../../platform/cursor.ts";
import type { Database } from "../../platform/db/client.ts";
import { notFound, validationError } from "../../platform/errors.ts";
import type { TrainingService } from "../contract.ts";
import { stopStudy } from "./cancel.ts";
import { checkAgainstDataset, type DatasetLimits } from "./check-dataset.ts";
import type { StudyService } from "./contract.ts";
import { insertStudy } from "./create-study.ts";
import { listEvents } from "./events.ts";
import { followEvents } from "./follow.ts";
import { exhaustiveEpochs } from "./rungs.ts";
import type { StudySignals } from "./signals.ts";
import { loadCurves, loadTrials } from "./study-rows.ts";
import { trainingSeed } from "./trial-request.ts";
import { inFlightEpochs, toCurvesView, toStudyView, toSummaryView } from "./views.ts";

/** trials × maxEpochs at most: the epochs (and curve points) a study may come to. */
export const MAX_STUDY_EPOCHS = 100_000;

export interface StudyServiceDeps {
  db: Database;
  datasets: DatasetService;
  training: TrainingService;
  limits: DatasetLimits;
  /** MAX_QUEUED_JOBS_PER_KEY: a study's maxConcurrent may not exceed it (0: no limit). */
  maxQueuedJobsPerKey?: number;
  /** Wake-ups for followers (the studies channel); without, they poll. */
  signals?: StudySignals;
  /** How often a follower reads the events when no signal comes (the source of truth). */
  followPollMs?: number;
}

export function createStudyService({
  db,
  datasets,
  training,
  limits,
  maxQueuedJobsPerKey = 0,
  signals,
  followPollMs = 1_000,
}: StudyServiceDeps): StudyService {
  const { prisma } = db;

  async function findRow(id: string) {
    const row = await prisma.study.findUnique({ where: { id } });
    if (!row) throw notFound("study", id);
    return row;
  }

  async function get(id: string) {
    const row = await findRow(id);
    const trials = await loadTrials(prisma, id);
    const inFlight = await inFlightEpochs(
      prisma,
      trials.flatMap((t) => (t.jobId ? [t.jobId] : [])),
    );
    return toStudyView(row, trials, inFlight);
  }

  return {
    async create(req, { submitter } = {}) {
      if (maxQueuedJobsPerKey > 0 && req.budget.maxConcurrent > maxQueuedJobsPerKey) {
        throw validationError([
          {
            path: "budget.maxConcurrent",
            message: `is ${req.budget.maxConcurrent}, above the ${maxQueuedJobsPerKey} queued or running jobs one API key may have (MAX_QUEUED_JOBS_PER_KEY)`,
          },
        ]);
      }
      const exhaustive = exhaustiveEpochs(req.budget.trials, req.budget.maxEpochs);
      if (exhaustive > MAX_STUDY_EPOCHS) {
        // What a study stores (every epoch's curve) and may train grows with this product.
        throw validationError([
          {
            path: "budget",
            message: `trials × maxEpochs is ${exhaustive}; a study may plan at most ${MAX_STUDY_EPOCHS} epochs (fewer trials or epochs)`,
          },
        ]);
      }
      const seed = req.seed ?? randomInt(0, 2 ** 31 - 1);
      // The data split every trial trains and is judged on.
      const shape = await checkAgainstDataset(datasets, req, trainingSeed(seed), limits);
      const id = await insertStudy(db, req, seed, shape, submitter);
      return get(id);
    },

    get,

    async list(query) {
      const { where, orderBy } = pageAfter(query.cursor);
      const rows = await prisma.study.findMany({
        where: {
          ...(query.status ? { status: query.status } : {}),
          ...(query.model ? { model: query.model } : {}),
          ...where,
        },
        orderBy,
        take: query.limit + 1,
        include: { trials: { select: { status: true, epochsSpent: true, jobId: true } } },
      });
      const jobIds = rows.flatMap((r) => r.trials.flatMap((t) => (t.jobId ? [t.jobId] : [])));
      const inFlight = await inFlightEpochs(prisma, jobIds);
      return toPage(rows, query.limit, (row) => toSummaryView(row, row.trials, inFlight));
    },

    async cancel(id) {
      await stopStudy(prisma, training, id);
      return get(id);
    },

    async curves(id) {
      await findRow(id);
      const trials = await loadTrials(prisma, id);
      return toCurvesView(prisma, trials, await loadCurves(prisma, id));
    },

    async events(id, afterId = 0) {
      await findRow(id);
      // All of them: a study's events are bounded by its trials and rungs (a few per rung).
      return listEvents(prisma, id, afterId, null);
    },

    async *follow(id, afterId, signal) {
      await findRow(id);
      yield* followEvents(prisma, { id, afterId, signal, signals, pollMs: followPollMs });
    },
  };
}
