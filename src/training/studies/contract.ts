/**
 * What the studies feature offers the transports (re-exported by src/transport/services.ts).
 * A study searches hyper-parameters for one model on one dataset: trials are sampled from the
 * space with the study's seed, each trains as ordinary queued jobs (segments), and successive
 * halving (ASHA) promotes the best at each rung to continue from their stored state.
 */
import type { Submitter } from "../contract.ts";
import type {
  Study,
  StudyCurves,
  StudyEvent,
  StudyListQuery,
  StudyPage,
  StudyRequest,
} from "./schemas.ts";

export interface CreateStudyOptions {
  /** Trials' jobs are submitted as this key, and count against its job limit. */
  submitter?: Submitter;
}

export interface StudyService {
  /**
   * Checks the request against the dataset (target, metric the task can give, encoded width,
   * parameter budget of the largest network in the space, maxConcurrent within the per-key job
   * limit) and stores the study with its sampled trials; the first segments are queued by the
   * conductor. Throws validationError with the field path and stores nothing when it is refused.
   */
  create(req: StudyRequest, options?: CreateStudyOptions): Promise<Study>;
  /** Throws notFound("study", id). */
  get(id: string): Promise<Study>;
  /** Newest first. */
  list(query: StudyListQuery): Promise<StudyPage>;
  /**
   * Stops the study: queued segments are cancelled, running ones at their next epoch; trials
   * not finished become cancelled. Throws conflict when the study already ended.
   */
  cancel(id: string): Promise<Study>;
  /** Every epoch of every trial; throws notFound("study", id). */
  curves(id: string): Promise<StudyCurves>;
  /** Events after `afterId` (0: all), oldest first; throws notFound("study", id). */
  events(id: string, afterId?: number): Promise<StudyEvent[]>;
  /**
   * Events after `afterId` as they happen, on any replica, until the study.finished event has
   * been yielded or `signal` aborts. Throws notFound("study", id) before the first.
   */
  follow(id: string, afterId: number, signal: AbortSignal): AsyncIterable<StudyEvent>;
}
