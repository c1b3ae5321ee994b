import pg from "pg";
import type { Logger } from "pino";
import { jobsChannel } from "./queue-sql.ts";

// LISTEN on a connection of its own (a pooled one would be handed to someone else). A NOTIFY is
// only a hint that a job may be ready: notifications sent while we are disconnected are lost,
// so the runner keeps polling, and we call onNotify after every (re)connect to cover the gap.
// Whatever happens, this logs and retries; it never throws into the process.

export interface JobNotifierOptions {
  url: string;
  logger: Logger;
  /** Called with the job id (or undefined after a reconnect); errors are logged. */
  onNotify: (jobId: string | undefined) => void | Promise<void>;
  channel?: string;
  /** First reconnect delay; doubles up to maxReconnectDelayMs. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

export interface JobNotifier {
  /** Starts listening; resolves once LISTEN first succeeds (it keeps retrying until then). */
  start(): Promise<void>;
  /** Stops listening and closes the connection. */
  stop(): Promise<void>;
  isListening(): boolean;
}

export function createJobNotifier({
  url,
  logger,
  onNotify,
  channel = jobsChannel,
  reconnectDelayMs = 500,
  maxReconnectDelayMs = 30_000,
}: JobNotifierOptions): JobNotifier {
  const log = logger.child({ component: "job-notifier" });
  let client: pg.Client | undefined;
  let listening = false;
  let stopped = false;
  let delay = reconnectDelayMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let started: Promise<void> | undefined;
  let resolveFirstListen: () => void = () => {};

  const wake = (jobId: string | undefined) => {
    try {
      Promise.resolve(onNotify(jobId)).catch((error: unknown) =>
        log.error({ err: error }, "job notification handler failed"),
      );
    } catch (error) {
      log.error({ err: error }, "job notification handler failed");
    }
  };

  const scheduleReconnect = () => {
    if (stopped || retryTimer) return;
    log.warn({ retryInMs: delay }, "job notifications interrupted; reconnecting");
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
    retryTimer.unref();
    delay = Math.min(delay * 2, maxReconnectDelayMs);
  };

  const connect = async () => {
    const current = new pg.Client({ connectionString: url, application_name: "nnserve-notifier" });
    client = current;
    // A dead connection emits 'error' and/or 'end'; either one means start over, once.
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost || client !== current) return;
      lost = true;
      listening = false;
      if (error) log.warn({ err: error }, "job notification connection failed");
      current.end().catch(() => {});
      scheduleReconnect();
    };
    current.on("error", onLost);
    current.on("end", () => onLost());
    current.on("notification", (message) => {
      if (message.channel === channel) wake(message.payload || undefined);
    });
    try {
      await current.connect();
      await current.query(`LISTEN ${current.escapeIdentifier(channel)}`);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (stopped || lost) return;
    listening = true;
    delay = reconnectDelayMs;
    log.debug({ channel }, "listening for job notifications");
    resolveFirstListen();
    wake(undefined);
  };

  return {
    start() {
      started ??= new Promise<void>((resolve) => {
        resolveFirstListen = resolve;
        void connect();
      });
      return started;
    },
    async stop() {
      stopped = true;
      listening = false;
      if (retryTimer) clearTimeout(retryTimer);
      resolveFirstListen();
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
    isListening: () => listening,
  };
}
