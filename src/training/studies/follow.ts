/**
 * A study's events as they happen, on any replica: read what came after the last one yielded,
 * then wait for the study's signal (the studies channel) or the poll interval, whichever comes
 * first, and read again; until study.finished has been yielded or the caller aborts.
 */
import type { PrismaClient } from "../../generated/prisma/client.ts";
import { listEvents } from "./events.ts";
import type { StudyEvent } from "./schemas.ts";
import type { StudySignals } from "./signals.ts";

export interface FollowOptions {
  id: string;
  afterId: number;
  signal: AbortSignal;
  signals?: StudySignals | undefined;
  pollMs: number;
}

/** Resolves after the study's next signal or the poll interval (or at once when aborted). */
function pause({ id, signal, signals, pollMs }: FollowOptions) {
  if (signals) return signals.waiter(id, pollMs, signal);
  let cancel = () => {};
  const wait = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, pollMs);
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener("abort", stop, { once: true });
    cancel = stop;
  });
  return { wait, cancel };
}

async function running(prisma: PrismaClient, id: string): Promise<boolean> {
  const row = await prisma.study.findUnique({ where: { id }, select: { status: true } });
  return row?.status === "running";
}

export async function* followEvents(
  prisma: PrismaClient,
  options: FollowOptions,
): AsyncIterable<StudyEvent> {
  const { id, signal } = options;
  let last = options.afterId;
  while (!signal.aborted) {
    // Waiting starts before the read, so a change committed in between is not missed.
    const pending = pause(options);
    const events = await listEvents(prisma, id, last);
    for (const event of events) {
      if (signal.aborted) break;
      yield event;
      last = event.id;
      if (event.type === "study.finished") {
        pending.cancel();
        return;
      }
    }
    if (events.length > 0) {
      pending.cancel();
      continue;
    }
    if (!(await running(prisma, id))) {
      pending.cancel();
      // Ended: read once more (it may have ended since the read); with nothing after `last`,
      // its study.finished came before afterId and nothing more will come.
      if ((await listEvents(prisma, id, last, 1)).length === 0) return;
      continue;
    }
    await pending.wait;
  }
}
