/**
 * A study's events as a stream a transport forwards (REST's GET /studies/{id}/events, gRPC's
 * WatchStudy): the events already stored after `afterId`, then each new one as the study makes it
 * (StudyService.follow), ending after study.finished. Opening it reads the backlog, so an unknown
 * study is an error before the transport has sent anything.
 */
import type { StudyEvent } from "../training/studies/schemas.ts";
import type { StudyService } from "./services.ts";

export interface StudyEventFeed {
  /** The study has ended and no event follows `afterId`: there is nothing to send. */
  ended: boolean;
  /** The backlog, then the live events; ends after study.finished or when `signal` aborts. */
  events: AsyncIterable<StudyEvent>;
}

/**
 * Throws notFound("study", id). The status is read before the second look at an empty backlog:
 * study.finished is written with the final status, so an ended study's last event is not missed
 * by a client that connects as it ends.
 */
export async function openStudyEventFeed(
  studies: StudyService,
  id: string,
  afterId: number,
  signal: AbortSignal,
): Promise<StudyEventFeed> {
  let backlog = await studies.events(id, afterId);
  if (backlog.length === 0) {
    const { status } = await studies.get(id);
    if (status !== "running") {
      backlog = await studies.events(id, afterId);
      if (backlog.length === 0) return { ended: true, events: nothing() };
    }
  }
  return { ended: false, events: feed(studies, id, afterId, backlog, signal) };
}

async function* nothing(): AsyncGenerator<StudyEvent> {}

async function* feed(
  studies: StudyService,
  id: string,
  afterId: number,
  backlog: StudyEvent[],
  signal: AbortSignal,
): AsyncGenerator<StudyEvent> {
  let last = afterId;
  for (const event of backlog) {
    yield event;
    last = event.id;
    if (event.type === "study.finished") return;
  }
  for await (const event of studies.follow(id, last, signal)) {
    yield event;
    if (event.type === "study.finished") return;
  }
}
