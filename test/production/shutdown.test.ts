/**
 * Graceful shutdown of a whole server on a real database: readiness turns false, new requests get
 * 503 while a request already in flight completes, no new job is claimed, and a running job
 * either finishes within SHUTDOWN_GRACE_MS or goes back to the queue, where another replica
 * takes it. Nothing is lost.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { quickXorRequest } from "../helpers/requests.ts";
import {
  jobRow,
  startTestServer,
  type TestServer,
  waitFor,
  waitForJob,
} from "../helpers/server.ts";

let db: TestDatabase;
const servers: TestServer[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await db?.close();
});

async function start(env: Record<string, string>, runJobs = true) {
  const server = await startTestServer({ databaseUrl: db.url, env, runJobs });
  servers.push(server);
  return server;
}

/**
 * A job whose epochs take a few milliseconds each (1000 rows through 32-64-64-1), so that its
 * epoch rows are written as fast as they come and stopping it is prompt.
 */
function slowEpochsRequest(model: string, epochs: number) {
  const inputs: number[][] = [];
  const targets: number[][] = [];
  for (let row = 0; row < 1000; row++) {
    const x = Array.from({ length: 32 }, (_, i) => ((row * 31 + i * 17) % 97) / 97);
    inputs.push(x);
    targets.push([x.reduce((sum, v) => sum + v, 0) / 32]);
  }
  return {
    model,
    network: {
      inputs: 32,
      layers: [
        { units: 64, activation: "relu" },
        { units: 64, activation: "relu" },
        { units: 1, activation: "linear" },
      ],
    },
    loss: "mse",
    optimizer: { name: "sgd", learningRate: 0.001 },
    training: { epochs, batchSize: 10, seed: 1, validationSplit: 0 },
    data: { inputs, targets },
  };
}

/**
 * A POST whose body is sent in two halves, the second only when `finish` is called; `received`
 * resolves once the server has read its headers and run its first hooks (shutdown's check).
 */
function slowPost(url: string, path: string, json: unknown) {
  const body = Buffer.from(JSON.stringify(json));
  const half = Math.floor(body.length / 2);
  const marker = `in-flight-${Math.random()}`;
  const channel = "http.server.request.start";
  const received = new Promise<void>((resolve) => {
    const onStart = (message: unknown) => {
      const { request } = message as { request: IncomingMessage };
      if (request.headers["x-test"] !== marker) return;
      unsubscribe(channel, onStart);
      // The server's 'request' listener runs right after this message: let it run.
      setImmediate(resolve);
    };
    subscribe(channel, onStart);
  });
  let finish = () => {};
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": body.length,
        "x-test": marker,
      },
    });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (chunk) => {
        text += String(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.flushHeaders();
    req.write(body.subarray(0, half));
    finish = () => req.end(body.subarray(half));
  });
  return { response, received, finish: () => finish() };
}

describe("shutdown", () => {
  it("finishes a request in flight, refuses new ones, and releases a job past the grace", async () => {
    const a = await start({ SHUTDOWN_GRACE_MS: "300" });
    const submitted = await a.http.post<{ jobId: string }>(
      "/train",
      slowEpochsRequest("shutdown-release", 10_000),
    );
    expect(submitted.status).toBe(202);
    const { jobId } = submitted.body;
    await waitForJob(a.http, jobId, (job) => job.status === "running" && job.progress.epoch > 0);

    const inFlight = slowPost(a.url, "/train", quickXorRequest("shutdown-in-flight"));
    // The request has begun (its headers were read) before shutdown starts.
    await inFlight.received;
    const closing = a.close();

    const ready = await a.http.get<{ ready: boolean }>("/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.ready).toBe(false);
    const refused = await a.http.get("/models");
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");

    inFlight.finish();
    const answered = await inFlight.response;
    expect(answered.status).toBe(202);
    const lateJobId = (JSON.parse(answered.body) as { jobId: string }).jobId;
    await closing;

    // The long job went back to the queue without using up an attempt; the job submitted by the
    // request in flight was queued and never claimed by the replica that was stopping.
    const released = await jobRow(db.pool, jobId);
    expect(released).toMatchObject({ status: "queued", lease_owner: null });
    expect(a.logs.some((line) => line.msg === "grace period over; releasing running jobs")).toBe(
      true,
    );
    expect(await jobRow(db.pool, lateJobId)).toMatchObject({ status: "queued", attempts: 0 });

    // Another replica takes both: the released job first (it is the older), then the other.
    const b = await start({});
    const resumed = await waitFor("the released job to run again", async () => {
      const row = await jobRow(db.pool, jobId);
      return row?.status === "running" && row.lease_owner === b.runner.workerId ? row : undefined;
    });
    expect(resumed.attempts).toBe(released!.attempts + 1);
    expect((await b.http.post(`/jobs/${jobId}/cancel`)).status).toBeLessThan(300);
    expect((await waitForJob(b.http, jobId)).status).toBe("cancelled");
    expect((await waitForJob(b.http, lateJobId)).status).toBe("succeeded");
    await b.close();
  });

  it("lets a running job finish when it ends within the grace period", async () => {
    const a = await start({ SHUTDOWN_GRACE_MS: "60000" });
    const submitted = await a.http.post<{ jobId: string }>(
      "/train",
      slowEpochsRequest("shutdown-finish", 60),
    );
    const { jobId } = submitted.body;
    await waitForJob(a.http, jobId, (job) => job.status === "running" && job.progress.epoch > 0);
    await a.close();
    expect(a.logs.some((line) => line.msg === "waiting for running jobs")).toBe(true);
    expect(await jobRow(db.pool, jobId)).toMatchObject({ status: "succeeded", epoch: 60 });
  });
});
