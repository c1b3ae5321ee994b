/**
 * In-process wake-ups for followers of a study: the studies channel's notifications (any
 * replica's decisions) arrive here, and each follower waits on its study's signal or its poll
 * interval, whichever comes first. A hint only: followers read the events table either way.
 */
import { EventEmitter } from "node:events";

export class StudySignals {
  readonly #emitter = new EventEmitter();

  constructor() {
    // One listener per follower of a study; there is no fixed number of them.
    this.#emitter.setMaxListeners(0);
  }

  /** A study changed; undefined: any may have (the listener reconnected). */
  notify(studyId: string | undefined): void {
    if (studyId === undefined) this.#emitter.emit("*");
    else this.#emitter.emit(studyId);
  }

  /**
   * Resolves at the study's next signal, after `ms`, or when `signal` aborts; whichever is
   * first. Subscribe before reading, so a change between the read and the wait is not missed.
   */
  waiter(
    studyId: string,
    ms: number,
    signal: AbortSignal,
  ): { wait: Promise<void>; cancel(): void } {
    let done: () => void = () => {};
    const wait = new Promise<void>((resolve) => {
      done = resolve;
    });
    const timer = setTimeout(() => finish(), ms);
    const finish = () => {
      clearTimeout(timer);
      this.#emitter.off(studyId, finish);
      this.#emitter.off("*", finish);
      signal.removeEventListener("abort", finish);
      done();
    };
    this.#emitter.on(studyId, finish);
    this.#emitter.on("*", finish);
    signal.addEventListener("abort", finish, { once: true });
    return { wait, cancel: finish };
  }
}
