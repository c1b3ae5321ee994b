/**
 * Whole nnserve servers for integration and end-to-end tests, on a test database (database.ts):
 * in this process (`startTestServer`, the composition root `startNnserve`) or as a real child
 * process (`spawnServer`, `node src/main.ts` with an environment), and a small fetch client that
 * drives either one over HTTP as any other client would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { type Nnserve, startNnserve } from "../../src/app.ts";
import { loadConfig } from "../../src/platform/config.ts";
import { createLogger } from "../../src/platform/logger.ts";
import type { Problem } from "../../src/platform/validation/problem.ts";
import type { Job } from "../../src/training/jobs/schemas.ts";

/** Queue timings small enough for tests: a dead worker's lease expires within 1.5 s. */
export const TEST_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: "test",
  HOST: "127.0.0.1",
  PORT: "0",
  GRPC_PORT: "0",
  WORKERS: "1",
  JOB_LEASE_MS: "1500",
  JOB_HEARTBEAT_MS: "300",
  JOB_POLL_MS: "100",
  STUDY_TICK_MS: "100",
  SHUTDOWN_GRACE_MS: "0",
  MODEL_CACHE_SIZE: "8",
  // Production guards are off: tests poll faster than any client may, queue more jobs than one
  // key may, and share two busy cores. Tests of the guards themselves turn them on in `env`.
  RATE_LIMIT_PER_MINUTE: "0",
  MAX_QUEUED_JOBS_PER_KEY: "0",
  AUTH_MAX_FAILURES_PER_MINUTE: "0",
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "0",
  OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: "0",
  OVERLOAD_MAX_HEAP_USED_BYTES: "0",
};

export type LogLine = Record<string, unknown> & { msg?: string };

// ---------------------------------------------------------------------------------------------
// In this process

export interface TestServer extends Nnserve {
  http: HttpClient;
  /** Every log line so far, parsed. */
  logs: LogLine[];
}

export async function startTestServer(options: {
  databaseUrl: string;
  env?: Record<string, string>;
  runJobs?: boolean;
}): Promise<TestServer> {
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: options.databaseUrl, ...options.env });
  const logs: LogLine[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: options.env?.LOG_LEVEL ?? "info", destination });
  const nnserve = await startNnserve({ config, logger, runJobs: options.runJobs ?? true });
  return { ...nnserve, close: () => nnserve.close(), http: httpClient(nnserve.url), logs };
}

// ---------------------------------------------------------------------------------------------
// As a process

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface ServerProcess {
  url: string;
  pid: number;
  /** The job runner's worker id: the lease_owner of the jobs this process claims. */
  workerId: string;
  http: HttpClient;
  logs: LogLine[];
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends the signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const spawned = new Set<ChildProcess>();

/**
 * Starts `node src/main.ts` with TEST_ENV, the database and `env`; resolves once it logged
 * "nnserve is ready". Call stopSpawnedServers() in afterAll so that none outlives its test file.
 */
export async function spawnServer(options: {
  databaseUrl: string;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", "src/main.ts"],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        ...TEST_ENV,
        LOG_LEVEL: "info",
        DATABASE_URL: options.databaseUrl,
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  spawned.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      spawned.delete(child);
      resolve({ code, signal });
    });
  });
  const logs: LogLine[] = [];
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += String(chunk);
  });
  let onLine: (line: LogLine) => void = () => {};
  createInterface({ input: child.stdout! }).on("line", (text) => {
    try {
      const line = JSON.parse(text) as LogLine;
      logs.push(line);
      onLine(line);
    } catch {
      stderr += `${text}\n`;
    }
  });

  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const ready = await new Promise<{ url: string; workerId: string }>((resolve, reject) => {
    let workerId = "";
    const fail = (why: string) =>
      reject(new Error(`nnserve process ${why}\nstderr:\n${stderr}\nlog:\n${logLines(logs)}`));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(`was not ready within ${timeoutMs} ms`);
    }, timeoutMs);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      fail(`exited before it was ready (code ${code}, signal ${signal})`);
    });
    onLine = (line) => {
      if (line.msg === "job runner started") workerId = String(line.workerId);
      if (line.msg === "nnserve is ready") {
        clearTimeout(timer);
        resolve({ url: String(line.url), workerId });
      }
    };
  });
  onLine = () => {};

  return {
    url: ready.url,
    pid: child.pid!,
    workerId: ready.workerId,
    http: httpClient(ready.url),
    logs,
    exited,
    kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** SIGKILLs every spawned server still running and waits for each to exit. */
export async function stopSpawnedServers(): Promise<void> {
  const running = [...spawned];
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}

function logLines(logs: LogLine[]): string {
  return logs.map((line) => JSON.stringify(line)).join("\n");
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  /** Parsed when the response is JSON (or problem+json), else the text. */
  body: T;
}

export interface RequestOptions {
  /** Sent as JSON with content-type application/json. */
  json?: unknown;
  /** Sent as is (set content-type yourself). */
  body?: string;
  headers?: Record<string, string>;
}

export interface HttpClient {
  request<T = unknown>(
    method: string,
    path: string,
    options?: RequestOptions,
  ): Promise<HttpResponse<T>>;
  get<T = unknown>(path: string): Promise<HttpResponse<T>>;
  post<T = unknown>(
    path: string,
    json?: unknown,
    headers?: Record<string, string>,
  ): Promise<HttpResponse<T>>;
  delete<T = unknown>(path: string): Promise<HttpResponse<T>>;
}

export function httpClient(baseUrl: string): HttpClient {
  async function request<T>(method: string, path: string, options: RequestOptions = {}) {
    const headers: Record<string, string> = { ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      headers["content-type"] ??= "application/json";
      body = JSON.stringify(options.json);
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    const type = response.headers.get("content-type") ?? "";
    const parsed = type.includes("json") && text !== "" ? JSON.parse(text) : text;
    return { status: response.status, headers: response.headers, body: parsed as T };
  }
  return {
    request,
    get: (path) => request("GET", path),
    post: (path, json, headers) => request("POST", path, { json, headers }),
    delete: (path) => request("DELETE", path),
  };
}

// ---------------------------------------------------------------------------------------------
// Waiting without fixed sleeps

import { waitFor } from "./wait.ts";

export { sleep, waitFor } from "./wait.ts";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/** Polls GET /jobs/{id} until the job has finished (or `until` holds), and returns it. */
export async function waitForJob(
  http: HttpClient,
  jobId: string,
  until: (job: Job) => boolean = (job) => FINISHED.has(job.status),
  timeoutMs = 20_000,
): Promise<Job> {
  let last: Job | Problem | undefined;
  return waitFor(
    `job ${jobId}`,
    async () => {
      const response = await http.get<Job>(`/jobs/${jobId}`);
      last = response.body;
      return response.status === 200 && until(response.body) ? response.body : undefined;
    },
    { timeoutMs },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last seen: ${JSON.stringify(last)}`);
  });
}

// ---------------------------------------------------------------------------------------------
// The database, as an operator would look at it

export const TABLES = [
  "models",
  "model_versions",
  "training_jobs",
  "training_data",
  "epoch_metrics",
] as const;

/** Row counts of every nnserve table. */
export async function countRows(pool: pg.Pool): Promise<Record<(typeof TABLES)[number], number>> {
  const counts = {} as Record<(typeof TABLES)[number], number>;
  for (const table of TABLES) {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    counts[table] = rows[0]!.n;
  }
  return counts;
}

export interface JobRow {
  id: string;
  status: string;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  epoch: number;
  epochs: number;
  error: string | null;
}

export async function jobRow(pool: pg.Pool, id: string): Promise<JobRow | undefined> {
  const { rows } = await pool.query<JobRow>(
    `SELECT id, status, attempts, max_attempts, lease_owner, lease_expires_at, epoch, epochs, error
       FROM training_jobs WHERE id = $1`,
    [id],
  );
  return rows[0];
}
