/**
 * Serving benchmark (npm run bench:serve). Not a test: it asserts nothing, it prints figures.
 *
 * One Postgres; nnserve (src/main.ts) runs as a child process, once with dynamic batching off
 * (BATCH_MAX_DELAY_US=0) and once with the configured default; a bare fastify answering a
 * constant (serve-ceiling.ts) runs as another, and is the ceiling of the HTTP stack on this
 * machine. autocannon, in this process, drives each at every concurrency with one-row requests:
 *   - a small model (4-16-3) and a Fashion-MNIST-size one (784-256-128-10, trained briefly on
 *     the real data when /usr/share/datasets/fashion-mnist has it, else on random data);
 *   - POST /predict and POST /v2/models/{name}/infer, and the ceiling's POST /constant with the
 *     same body (JSON parsing is part of the stack).
 * Then the small model's latency while a training job runs in the worker pool.
 * Lines are JSON; ratios are against the ceiling measured in the same run with the same body and
 * concurrency (the machine is shared: only same-run ratios mean much).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import autocannon from "autocannon";
import { pino } from "pino";
import { startEmbeddedPostgres } from "../src/db/embedded.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");
const DURATION = Number(process.env.DURATION ?? 5);
const CONCURRENCY = (process.env.CONCURRENCY ?? "1,16,64").split(",").map(Number);
const FMNIST = process.env.FMNIST_DIR ?? "/usr/share/datasets/fashion-mnist";
/** Filters for a quicker look: MODELS=small,large ROUTES=predict,infer BATCHING=off,on TRAINING=0 */
const pick = (name: string, all: string) => (process.env[name] ?? all).split(",");
const SMALL = "bench-small";
const LARGE = "bench-fmnist";

type Row = Record<string, string | number | boolean | null>;
const results: Row[] = [];
function emit(row: Row): void {
  results.push(row);
  console.log(JSON.stringify(row));
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => ok(typeof address === "object" && address ? address.port : 0));
    });
    server.on("error", fail);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Child {
  url: string;
  stop(): Promise<void>;
}

async function startChild(script: string, env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", join(repo, script)],
    { cwd: repo, env: { ...process.env, ...env, PORT: String(port) }, stdio: "inherit" },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    await sleep(100);
  }
  return {
    url,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}

async function json(url: string, init?: RequestInit): Promise<unknown> {
  const response = await fetch(url, {
    ...init,
    headers: { "content-type": "application/json", ...init?.headers },
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

function fashionMnist(rows: number): { inputs: number[][]; labels: number[] } {
  const imagesFile = join(FMNIST, "train-images-idx3-ubyte.gz");
  if (!existsSync(imagesFile)) {
    const inputs = Array.from({ length: rows }, () =>
      Array.from({ length: 784 }, () => Math.random()),
    );
    return { inputs, labels: Array.from({ length: rows }, (_, i) => i % 10) };
  }
  const images = gunzipSync(readFileSync(imagesFile));
  const labels = gunzipSync(readFileSync(join(FMNIST, "train-labels-idx1-ubyte.gz")));
  const inputs: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row = new Array<number>(784);
    // Two decimals keep the JSON body small; the scaling is the engine bench's (/255).
    for (let i = 0; i < 784; i++)
      row[i] = Math.round((images[16 + r * 784 + i]! / 255) * 100) / 100;
    inputs.push(row);
  }
  return { inputs, labels: Array.from(labels.subarray(8, 8 + rows)) };
}

const largeNetwork = {
  inputs: 784,
  layers: [
    { units: 256, activation: "relu" },
    { units: 128, activation: "relu" },
    { units: 10, activation: "softmax" },
  ],
};

function trainRequest(model: string, rows: number, epochs: number) {
  if (model === SMALL) {
    const inputs = Array.from({ length: rows }, () =>
      Array.from({ length: 4 }, () => Math.random()),
    );
    return {
      model,
      network: {
        inputs: 4,
        layers: [
          { units: 16, activation: "relu" },
          { units: 3, activation: "softmax" },
        ],
      },
      loss: "sparseCategoricalCrossentropy",
      optimizer: { name: "adam" },
      training: { epochs, batchSize: 32, seed: 1, validationSplit: 0 },
      data: { inputs, labels: inputs.map((x) => (x[0]! > 0.66 ? 2 : x[0]! > 0.33 ? 1 : 0)) },
    };
  }
  return {
    model,
    network: largeNetwork,
    loss: "sparseCategoricalCrossentropy",
    optimizer: { name: "adam" },
    training: { epochs, batchSize: 64, seed: 1, validationSplit: 0 },
    data: fashionMnist(rows),
  };
}

interface JobView {
  id: string;
  status: string;
  progress: { epoch: number; epochs: number };
}

async function submit(url: string, body: unknown): Promise<JobView> {
  const { jobId } = (await json(`${url}/train`, {
    method: "POST",
    body: JSON.stringify(body),
  })) as { jobId: string };
  return (await json(`${url}/jobs/${jobId}`)) as JobView;
}

async function waitFor(url: string, id: string, done: (job: JobView) => boolean): Promise<JobView> {
  for (;;) {
    const job = (await json(`${url}/jobs/${id}`)) as JobView;
    if (done(job)) return job;
    if (["failed", "cancelled"].includes(job.status)) throw new Error(`job ${id} ${job.status}`);
    await sleep(200);
  }
}

interface Load {
  path: string;
  body: string;
}

function loads(model: string, row: number[]): { predict: Load; infer: Load; constant: Load } {
  const predict = JSON.stringify({ model, inputs: [row] });
  return {
    predict: { path: "/predict", body: predict },
    infer: {
      path: `/v2/models/${model}/infer`,
      body: JSON.stringify({
        inputs: [{ name: "input", shape: [1, row.length], datatype: "FP32", data: row }],
      }),
    },
    constant: { path: "/constant", body: predict },
  };
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function measure(base: string, load: Load, connections: number): Promise<Measured> {
  const options = {
    url: base + load.path,
    method: "POST" as const,
    headers: { "content-type": "application/json" },
    body: load.body,
    connections,
  };
  await autocannon({ ...options, duration: 1 }); // warm-up: JIT, caches, pool threads
  const r = await autocannon({ ...options, duration: DURATION });
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

async function metricValue(url: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : null;
}

async function main(): Promise<void> {
  let databaseUrl = process.env.DATABASE_URL;
  let stopDatabase = async () => {};
  if (!databaseUrl) {
    const pg = await startEmbeddedPostgres({
      logger: pino({ level: "warn" }),
      dataDir: join(tmpdir(), `nnserve-bench-${process.pid}`),
      ephemeral: true,
    });
    databaseUrl = pg.url;
    stopDatabase = pg.stop;
  }
  const serverEnv = (batchDelayUs: string) => ({
    DATABASE_URL: databaseUrl!,
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
    WORKERS: "1",
    JOB_POLL_MS: "100",
    ...(batchDelayUs === "" ? {} : { BATCH_MAX_DELAY_US: batchDelayUs }),
  });

  const children: Child[] = [];
  const stopAll = async () => {
    for (const child of children.reverse()) await child.stop();
    await stopDatabase();
  };
  // Ctrl-C still stops the servers and the throwaway database.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void stopAll().finally(() => process.exit(130)));
  }
  const ceiling = await startChild("bench/serve-ceiling.ts", {});
  children.push(ceiling);
  try {
    // Train both models once; both server runs then serve them from the same database.
    let server = await startChild("src/main.ts", serverEnv("0"));
    children.push(server);
    const jobs = await Promise.all([
      submit(server.url, trainRequest(SMALL, 512, 5)),
      submit(server.url, trainRequest(LARGE, 2000, 2)),
    ]);
    for (const job of jobs) await waitFor(server.url, job.id, (j) => j.status === "succeeded");

    const rows: Record<string, number[]> = {
      [SMALL]: [0.1, 0.5, 0.9, 0.3],
      [LARGE]: fashionMnist(1).inputs[0]!,
    };
    const ceilingByKey = new Map<string, Measured>();
    const models = pick("MODELS", "small,large").map((m) => (m === "small" ? SMALL : LARGE));
    const routes = pick("ROUTES", "predict,infer");
    for (const model of models) {
      for (const c of CONCURRENCY) {
        const m = await measure(ceiling.url, loads(model, rows[model]).constant, c);
        ceilingByKey.set(`${model}/${c}`, m);
        emit({
          case: "ceiling",
          model,
          route: "POST /constant",
          batching: null,
          connections: c,
          ...m,
        });
      }
    }

    const modes = pick("BATCHING", "off,on").map((b) => b === "on");
    for (const batching of modes) {
      if (batching) {
        // Same database and models, batching at the configured default.
        await server.stop();
        server = await startChild("src/main.ts", serverEnv(""));
        children.push(server);
      }
      for (const model of models) {
        const { predict, infer } = loads(model, rows[model]);
        for (const load of routes.map((r) => (r === "predict" ? predict : infer))) {
          for (const c of CONCURRENCY) {
            const m = await measure(server.url, load, c);
            const top = ceilingByKey.get(`${model}/${c}`)!;
            emit({
              case: "serve",
              model,
              route: `POST ${load.path}`,
              batching,
              connections: c,
              ...m,
              rpsOfCeiling: Math.round((m.rps / top.rps) * 1000) / 1000,
            });
          }
        }
      }
      if (batching) {
        emit({
          case: "batches",
          meanRowsPerPass:
            Math.round(
              ((await metricValue(server.url, "nnserve_inference_batch_size_rows_sum"))! /
                (await metricValue(server.url, "nnserve_inference_batch_size_rows_count"))!) *
                100,
            ) / 100,
        });
      }
    }

    if (process.env.TRAINING === "0") return;
    // Latency while a Fashion-MNIST-size job trains in the worker pool (batching on).
    const small = loads(SMALL, rows[SMALL]).predict;
    const idle = await measure(server.url, small, 16);
    const lagIdle = await metricValue(server.url, "nodejs_eventloop_lag_p99_seconds");
    const job = await submit(server.url, trainRequest(`${LARGE}-load`, 6000, 50));
    await waitFor(server.url, job.id, (j) => j.status === "running" && j.progress.epoch >= 1);
    for (const c of [1, 16]) {
      const m = await measure(server.url, small, c);
      emit({ case: "during-training", model: SMALL, route: "POST /predict", connections: c, ...m });
    }
    const lagTraining = await metricValue(server.url, "nodejs_eventloop_lag_p99_seconds");
    const progress = (await json(`${server.url}/jobs/${job.id}`)) as JobView;
    emit({
      case: "during-training-summary",
      idleP99: idle.p99,
      idleRps: idle.rps,
      eventLoopLagP99Idle: lagIdle,
      eventLoopLagP99Training: lagTraining,
      trainingEpoch: progress.progress.epoch,
      trainingStillRunning: progress.status === "running",
    });
    await json(`${server.url}/jobs/${job.id}/cancel`, { method: "POST", body: "{}" }).catch(
      () => {},
    );
  } finally {
    await stopAll();
  }
  printTable();
}

function printTable(): void {
  console.log(
    "\ncase             model         route                          batch  conn     rps  p50 ms  p99 ms  of ceiling",
  );
  for (const r of results) {
    if (r.case === "batches" || r.case === "during-training-summary") continue;
    console.log(
      [
        String(r.case).padEnd(16),
        String(r.model).padEnd(13),
        String(r.route).padEnd(30),
        String(r.batching ?? "-").padEnd(6),
        String(r.connections).padStart(4),
        String(r.rps).padStart(7),
        String(r.p50).padStart(7),
        String(r.p99).padStart(7),
        r.rpsOfCeiling === undefined
          ? ""
          : `${(Number(r.rpsOfCeiling) * 100).toFixed(0)}%`.padStart(11),
      ].join(" "),
    );
  }
}

await main();
