/**
 * SERVE_PROCESSES=2: one nnserve made of a primary and two serving processes that share the REST
 * and gRPC ports (node:cluster), driven as a client would. Requests spread over both processes,
 * /metrics adds up what each served whichever of them answers the scrape, one process runs the
 * jobs, a killed process is replaced, SIGTERM stops them all with code 0 and leaves none behind,
 * and a cluster that cannot start exits 1.
 */
import { request as httpRequest } from "node:http";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictResponse__Output } from "../../src/generated/grpc/nnserve/v1/PredictResponse.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { quickXorRequest, XOR_INPUTS } from "../helpers/requests.ts";
import {
  type LogLine,
  type ServerProcess,
  spawnServer,
  stopSpawnedServers,
  waitFor,
  waitForJob,
} from "../helpers/server.ts";
import { grpcClients, unary } from "../transport/grpc/helpers.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await stopSpawnedServers();
  await db?.close();
});

/**
 * A request on a connection of its own: the cluster hands each new connection to the next
 * process in turn, where fetch would reuse one kept-alive connection to one process.
 */
function onNewConnection(
  url: string,
  method: string,
  path: string,
  json?: unknown,
): Promise<{ status: number; body: string }> {
  const body = json === undefined ? undefined : JSON.stringify(json);
  const headers = body
    ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    : {};
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method, agent: false, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const predictOnNewConnection = async (url: string, model: string) =>
  (await onNewConnection(url, "POST", "/predict", { model, inputs: XOR_INPUTS })).status;

/** One series' value in the exposition text, or undefined when it is absent. */
function series(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const PREDICT_OK = 'nnserve_http_requests_total{method="POST",route="/predict",status_code="200"}';

describe("SERVE_PROCESSES=2", () => {
  let server: ServerProcess;
  /** Log lines of one message. */
  const lines = (msg: string) => server.logs.filter((line) => line.msg === msg);
  /** Pids of the processes that logged /predict answers. */
  const predictPids = (from = 0) =>
    new Set(
      server.logs
        .slice(from)
        .filter((l: LogLine) => l.msg === "request" && l.route === "/predict")
        .map((l) => l.pid as number),
    );

  beforeAll(async () => {
    server = await spawnServer({
      databaseUrl: db.url,
      env: { SERVE_PROCESSES: "2" },
      readyTimeoutMs: 60_000,
    });
  });

  it("starts two serving processes that share the ports, one of which runs the jobs", async () => {
    const ready = lines("nnserve is ready");
    expect(ready).toHaveLength(1);
    expect(ready[0]!.pid).toBe(server.pid); // the primary says it, once every process is ready
    const pids = ready[0]!.processes as number[];
    expect(pids).toHaveLength(2);
    expect(pids).not.toContain(server.pid);
    const servingReady = await waitFor("both processes' ready lines", async () =>
      lines("serving process ready").length === 2 ? lines("serving process ready") : undefined,
    );
    expect(servingReady.map((l) => l.pid).sort()).toEqual([...pids].sort());
    expect(servingReady.map((l) => l.url)).toEqual([server.url, server.url]);
    // One job runner in the cluster, in one of the serving processes. Its log line and the
    // ready message travel apart (stdout, IPC): wait for the line, then check it is alone.
    await waitFor("the job runner's start line", () =>
      lines("job runner started").length > 0 ? true : undefined,
    );
    const runners = lines("job runner started");
    expect(runners).toHaveLength(1);
    expect(pids).toContain(runners[0]!.pid);
    expect(servingReady.filter((l) => l.runJobs === true).map((l) => l.pid)).toEqual([
      runners[0]!.pid,
    ]);

    // Aggregated: one training thread (the job runner's), a prediction thread per process.
    const metrics = await server.http.get<string>("/metrics");
    expect(series(metrics.body, 'nnserve_worker_pool_threads{pool="training"}')).toBe(1);
    expect(series(metrics.body, 'nnserve_worker_pool_threads{pool="prediction"}')).toBe(2);
    expect((await server.http.get("/readyz")).status).toBe(200);
  });

  it("trains and predicts, spreads requests over both processes, and counts them all in /metrics", async () => {
    const accepted = await server.http.post<TrainAccepted>("/train", quickXorRequest("spread"));
    expect(accepted.status).toBe(202);
    expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");
    const first = await server.http.post<{ classes: number[] }>("/predict", {
      model: "spread",
      inputs: XOR_INPUTS,
    });
    expect(first.status).toBe(200);
    expect(first.body.classes).toEqual([0, 1, 1, 0]);

    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => predictOnNewConnection(server.url, "spread")),
    );
    expect(statuses).toEqual(Array(20).fill(200));
    const pids = lines("nnserve is ready")[0]!.processes as number[];
    await waitFor("both processes to have answered a /predict", async () =>
      predictPids().size === 2 ? true : undefined,
    );
    expect([...predictPids()].sort()).toEqual([...pids].sort());

    // Whichever process answers the scrape (new connections take turns), it counts the 21
    // predictions of both.
    for (let scrape = 0; scrape < 4; scrape++) {
      const text = await waitFor("every prediction counted", async () => {
        const { body } = await onNewConnection(server.url, "GET", "/metrics");
        return series(body, PREDICT_OK) === 21 ? body : undefined;
      });
      expect(series(text, 'nnserve_inference_requests_total{model="spread",outcome="ok"}')).toBe(
        21,
      );
      expect(series(text, 'nnserve_inference_rows_total{model="spread"}')).toBe(84);
      expect(series(text, 'nnserve_training_jobs{status="succeeded"}')).toBe(1);
    }

    // gRPC shares its port the same way.
    const grpc = grpcClients(String(lines("nnserve is ready")[0]!.grpc));
    try {
      const predicted = await unary<PredictResponse__Output>((cb) =>
        grpc.prediction.Predict(
          { model: "spread", inputs: { width: 2, values: XOR_INPUTS.flat() } },
          cb,
        ),
      );
      expect(predicted.classes).toEqual([0, 1, 1, 0]);
    } finally {
      grpc.close();
    }
  });

  it("replaces a serving process that is killed, and keeps serving", async () => {
    const [, serveOnly] = lines("nnserve is ready")[0]!.processes as number[];
    const runner = await waitFor(
      "the job runner's start line",
      () => lines("job runner started")[0]?.pid,
    );
    const victim =
      serveOnly === runner ? (lines("nnserve is ready")[0]!.processes as number[])[0]! : serveOnly!;
    process.kill(victim, "SIGKILL");

    const died = await waitFor("the primary to log the death", async () =>
      lines("serving process exited; restarting it").find((l) => l.servingPid === victim),
    );
    expect(died).toMatchObject({ level: 50, signal: "SIGKILL", pid: server.pid, restartInMs: 500 });
    const replaced = await waitFor("a replacement", async () =>
      lines("serving process replaced").at(-1),
    );
    const newPid = replaced.servingPid as number;
    expect(newPid).not.toBe(victim);

    const from = server.logs.length;
    await waitFor("the replacement to answer a /predict", async () => {
      expect(await predictOnNewConnection(server.url, "spread")).toBe(200);
      return predictPids(from).has(newPid) ? true : undefined;
    });
    expect((await server.http.get("/readyz")).status).toBe(200);
  });

  it("stops every process on SIGTERM, exits 0 and leaves no process behind", async () => {
    const started = lines("serving process started").map((l) => l.servingPid as number);
    expect(started.length).toBeGreaterThanOrEqual(3); // two, and the replacement
    expect(await server.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(lines("serving process stopping").length).toBeGreaterThanOrEqual(2);
    for (const pid of started) expect(alive(pid), `process ${pid}`).toBe(false);
  });
});

describe("a serving process whose replacements cannot start", () => {
  it("is restarted with a doubling delay, then the server gives up and exits 1", async () => {
    const own = await createTestDatabase();
    try {
      const server = await spawnServer({
        databaseUrl: own.url,
        env: { SERVE_PROCESSES: "2" },
        readyTimeoutMs: 60_000,
      });
      const ready = server.logs.find((l) => l.msg === "nnserve is ready")!;
      // The runner's log line and the ready message travel apart (stdout, IPC).
      const runner = await waitFor(
        "the job runner's start line",
        () => server.logs.find((l) => l.msg === "job runner started")?.pid,
      );
      const victim = (ready.processes as number[]).find((pid) => pid !== runner)!;
      // The processes running keep their connections; a new one is refused, so every
      // replacement fails in its migration.
      await allowConnections(own, false);
      process.kill(victim, "SIGKILL");

      expect(await server.exited).toEqual({ code: 1, signal: null });
      const restarts = server.logs.filter((l) => l.msg === "serving process exited; restarting it");
      expect(restarts.map((l) => l.restartInMs)).toEqual([500, 1000, 2000, 4000, 8000]);
      expect(restarts[0]).toMatchObject({ servingPid: victim, signal: "SIGKILL" });
      expect(restarts.slice(1).map((l) => l.code)).toEqual([1, 1, 1, 1]);
      expect(
        server.logs.find(
          (l) => l.msg === "serving process keeps dying before it is ready; stopping",
        ),
      ).toMatchObject({ level: 60, failedStarts: 5 });
      const started = server.logs
        .filter((l) => l.msg === "serving process started")
        .map((l) => l.servingPid as number);
      expect(started).toHaveLength(7); // two, then five replacements
      for (const pid of started) expect(alive(pid), `process ${pid}`).toBe(false);
    } finally {
      await allowConnections(own, true);
      await own.close();
    }
  }, 60_000);
});

describe("SERVE_PROCESSES that cannot start", () => {
  it("exits 1 when the serving processes cannot reach the database", async () => {
    await expect(
      spawnServer({
        databaseUrl: "postgres://nobody@127.0.0.1:1/none",
        env: { SERVE_PROCESSES: "2" },
        readyTimeoutMs: 60_000,
      }),
    ).rejects.toThrow(/exited before it was ready \(code 1,/);
  });

  it.each(["0", "abc", "65"])(
    "refuses SERVE_PROCESSES=%s with a configuration error",
    async (value) => {
      const error = await spawnServer({
        databaseUrl: db.url,
        env: { SERVE_PROCESSES: value },
      }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(/exited before it was ready \(code 1,/);
      expect(error?.message).toContain(
        "SERVE_PROCESSES: must be a whole number between 1 and 64, or auto (one per core)",
      );
    },
  );
});

/** Postgres refuses to change this for the database a session is on: ask from "postgres". */
async function allowConnections(database: TestDatabase, allow: boolean): Promise<void> {
  const url = new URL(database.url);
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`ALTER DATABASE "${database.name}" ALLOW_CONNECTIONS ${allow}`);
  } finally {
    await client.end();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
