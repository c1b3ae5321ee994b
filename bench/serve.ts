/**
 * Serving benchmark (npm run bench:serve). Not a test: it asserts nothing, it prints figures.
 *
 * One Postgres, and four servers as child processes, all up at once:
 *   - nnserve (src/main.ts) with dynamic batching off (BATCH_MAX_DELAY_US=0),
 *   - nnserve with batching at the configured defaults,
 *   - the same with SERVE_PROCESSES=PROCESSES (default 2; PROCESSES=1 leaves it out): the
 *     serving processes share the port (node:cluster),
 *   - a bare fastify answering a constant (serve-ceiling.ts): the ceiling of the HTTP stack here.
 * Each case (model x route x connections) is measured in ROUNDS interleaved rounds, ceiling, off,
 * on, on xN, ceiling, off, ..., and the median of the rounds is reported: the machine is shared,
 * and interleaving spreads whatever else runs on it over all of them alike. One-row requests:
 *   - a small model (4-16-3) and a Fashion-MNIST-size one (784-256-128-10, trained briefly on
 *     the real data when /usr/share/datasets/fashion-mnist has it, else on random data);
 *   - POST /predict, POST /v2/models/{name}/infer with the tensor as JSON numbers, and the same
 *     with the binary tensor data extension (the JSON request, then the FP32 bytes); the
 *     ceiling's POST /constant gets the same body and parses it (JSON parsing is part of the
 *     stack).
 * Then the small model's latency while a Fashion-MNIST-size job trains in the worker pool.
 * The load generator is wrk when installed (microsecond latencies, little CPU), else autocannon
 * (LOAD=autocannon forces it). Lines are JSON, then a table; ratios are to the ceiling's
 * requests per second for the same body and connections in the same run.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import autocannon from "autocannon";
import { pino } from "pino";
import { startEmbeddedPostgres } from "../src/platform/db/embedded.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");
const DURATION = Number(process.env.DURATION ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CONCURRENCY = (process.env.CONCURRENCY ?? "1,16,64").split(",").map(Number);
/** SERVE_PROCESSES of the multi-process case; 1 leaves the case out. */
const PROCESSES = Number(process.env.PROCESSES ?? 2);
const FMNIST = process.env.FMNIST_DIR ?? "/usr/share/datasets/fashion-mnist";
/** Filters for a quicker look: MODELS=small,large ROUTES=predict,infer,binary TRAINING=0 */
// Extra Node flags for the servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (NODE_OPTIONS
// refuses profiling flags).
const nodeArgs = (process.env.SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
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
    [...nodeArgs, "--disable-warning=ExperimentalWarning", join(repo, script)],
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
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const kill = setTimeout(() => child.kill("SIGKILL"), 30_000);
        child.once("exit", () => {
          clearTimeout(kill);
          done();
        });
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
  body: string | Buffer;
  /** Content-Type and any other request headers. */
  headers: Record<string, string>;
}

const JSON_HEADERS = { "content-type": "application/json" };

function loads(model: string, row: number[]): Record<"predict" | "infer" | "binary", Load> {
  // The binary tensor data extension: the JSON request, then the FP32 rows as bytes.
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: "input",
          shape: [1, row.length],
          datatype: "FP32",
          parameters: { binary_data_size: row.length * 4 },
        },
      ],
    }),
  );
  return {
    predict: {
      path: "/predict",
      body: JSON.stringify({ model, inputs: [row] }),
      headers: JSON_HEADERS,
    },
    infer: {
      path: `/v2/models/${model}/infer`,
      body: JSON.stringify({
        inputs: [{ name: "input", shape: [1, row.length], datatype: "FP32", data: row }],
      }),
      headers: JSON_HEADERS,
    },
    binary: {
      path: `/v2/models/${model}/infer`,
      body: Buffer.concat([header, Buffer.from(new Float32Array(row).buffer)]),
      headers: {
        "content-type": "application/octet-stream",
        "inference-header-content-length": String(header.length),
      },
    },
  };
}

interface Measured {
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

const useWrk =
  process.env.LOAD !== "autocannon" && spawnSync("wrk", ["--version"]).error === undefined;
const scratch = mkdtempSync(join(tmpdir(), "nnserve-bench-load-"));
let scripts = 0;

// wrk prints "Latency Distribution" lines like "  99%    4.56ms" (us, ms or s).
function wrkMs(output: string, percent: string): number {
  const match = new RegExp(`^\\s*${percent}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(output);
  if (!match) return Number.NaN;
  const scale = { us: 0.001, ms: 1, s: 1000 }[match[2] as "us" | "ms" | "s"];
  return Math.round(Number(match[1]) * scale * 1000) / 1000;
}

async function runWrk(
  url: string,
  { body, headers }: Load,
  connections: number,
  seconds: number,
): Promise<Measured> {
  const bodyFile = join(scratch, `body-${scripts}.json`);
  const script = join(scratch, `post-${scripts++}.lua`);
  writeFileSync(bodyFile, body);
  writeFileSync(
    script,
    `local f = io.open("${bodyFile}", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
${Object.entries(headers)
  .map(([name, value]) => `wrk.headers["${name}"] = "${value}"`)
  .join("\n")}
`,
  );
  const threads = String(Math.min(2, connections));
  const args = ["-t", threads, "-c", String(connections), "-d", `${seconds}s`, "--latency"];
  // Asynchronously, so a signal (Ctrl-C) is handled between runs.
  const out = await new Promise<string>((done, fail) => {
    const child = spawn("wrk", [...args, "-s", script, url]);
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.on("error", fail);
    child.on("close", () => done(text));
  });
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN)),
    p50: wrkMs(out, "50"),
    p99: wrkMs(out, "99"),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    errors: errors ? errors.slice(1).reduce((n, e) => n + Number(e), 0) : 0,
  };
}

async function measure(
  base: string,
  load: Load,
  connections: number,
  { warmUp = true, seconds = DURATION } = {},
): Promise<Measured> {
  const url = base + load.path;
  if (useWrk) {
    if (warmUp) await runWrk(url, load, connections, 1); // JIT, caches, pool threads
    return runWrk(url, load, connections, seconds);
  }
  const options = {
    url,
    method: "POST" as const,
    headers: load.headers,
    body: load.body,
    connections,
  };
  if (warmUp) await autocannon({ ...options, duration: 1 });
  const r = await autocannon({ ...options, duration: seconds });
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The median of each figure over the rounds; non-2xx and errors are summed. */
function combine(rounds: Measured[]): Measured {
  return {
    rps: Math.round(median(rounds.map((r) => r.rps))),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
  };
}

async function metricValue(url: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : null;
}

/** Rows per forward pass over the run, from the batch-size histogram (null before any pass). */
async function meanRowsPerPass(url: string): Promise<number | null> {
  const passes = await metricValue(url, "nnserve_inference_batch_size_rows_count");
  const rows = await metricValue(url, "nnserve_inference_batch_size_rows_sum");
  return passes && rows !== null ? Math.round((rows / passes) * 100) / 100 : null;
}

/** Waits until the aggregated /metrics counts every serving process (a prediction thread each). */
async function allServing(url: string, processes: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const threads = await metricValue(url, 'nnserve_worker_pool_threads{pool="prediction"}');
    if (threads !== null && threads >= processes) return;
    await sleep(100);
  }
  throw new Error(`${url}: not all ${processes} serving processes came up`);
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
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    LOG_LEVEL: "warn",
    // The serving path alone: no API keys, per-key limits or load shedding in the way.
    AUTH: "off",
    RATE_LIMIT_PER_MINUTE: "0",
    MAX_QUEUED_JOBS_PER_KEY: "0",
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "0",
    OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: "0",
    OVERLOAD_MAX_HEAP_USED_BYTES: "0",
    NODE_ENV: "production",
    WORKERS: "1",
    JOB_POLL_MS: "100",
    ...(batchDelayUs === "" ? {} : { BATCH_MAX_DELAY_US: batchDelayUs }),
  });

  const children: Child[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      for (const child of [...children].reverse()) await child.stop();
      await stopDatabase();
    })();
    return stopping;
  };
  // Ctrl-C still stops the servers and the throwaway database.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void stopAll().finally(() => process.exit(130)));
  }
  try {
    const ceiling = await startChild("bench/serve-ceiling.ts", {});
    children.push(ceiling);
    const off = await startChild("src/main.ts", serverEnv("0"));
    children.push(off);
    const on = await startChild("src/main.ts", serverEnv(""));
    children.push(on);
    const server = on;
    let multi: Child | undefined;
    if (PROCESSES > 1) {
      multi = await startChild("src/main.ts", {
        ...serverEnv(""),
        SERVE_PROCESSES: String(PROCESSES),
      });
      children.push(multi);
      await allServing(multi.url, PROCESSES);
    }
    // Both nnserve servers serve the models trained here from the shared database.
    const jobs = await Promise.all([
      submit(off.url, trainRequest(SMALL, 512, 5)),
      submit(off.url, trainRequest(LARGE, 2000, 2)),
    ]);
    for (const job of jobs) await waitFor(off.url, job.id, (j) => j.status === "succeeded");

    const rows: Record<string, number[]> = {
      [SMALL]: [0.1, 0.5, 0.9, 0.3],
      [LARGE]: fashionMnist(1).inputs[0]!,
    };
    const models = pick("MODELS", "small,large").map((m) => (m === "small" ? SMALL : LARGE));
    const routes = pick("ROUTES", "predict,infer,binary") as ("predict" | "infer" | "binary")[];
    emit({
      case: "setup",
      load: useWrk ? "wrk" : "autocannon",
      secondsPerRound: DURATION,
      rounds: ROUNDS,
      cpus: availableParallelism(),
      loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    });
    for (const model of models) {
      const all = loads(model, rows[model]!);
      for (const route of routes) {
        const load = all[route];
        const constant = { ...load, path: "/constant" };
        for (const c of CONCURRENCY) {
          const runs = {
            ceiling: [] as Measured[],
            off: [] as Measured[],
            on: [] as Measured[],
            multi: [] as Measured[],
          };
          for (let round = 0; round < ROUNDS; round++) {
            const warmUp = round === 0;
            runs.ceiling.push(await measure(ceiling.url, constant, c, { warmUp }));
            runs.off.push(await measure(off.url, load, c, { warmUp }));
            runs.on.push(await measure(on.url, load, c, { warmUp }));
            if (multi) runs.multi.push(await measure(multi.url, load, c, { warmUp }));
          }
          const top = combine(runs.ceiling);
          const wire = route === "binary" ? " (binary)" : "";
          const common = { model, route: `POST ${load.path}${wire}`, connections: c };
          emit({ case: "ceiling", ...common, batching: null, processes: 1, ...top });
          const cases = [
            { batching: false, processes: 1, rounds: runs.off },
            { batching: true, processes: 1, rounds: runs.on },
            ...(multi ? [{ batching: true, processes: PROCESSES, rounds: runs.multi }] : []),
          ];
          for (const { batching, processes, rounds } of cases) {
            const m = combine(rounds);
            emit({
              case: "serve",
              ...common,
              batching,
              processes,
              ...m,
              rpsOfCeiling: Math.round((m.rps / top.rps) * 1000) / 1000,
            });
          }
        }
      }
    }
    emit({ case: "load", loadAverage1m: Math.round(loadavg()[0]! * 100) / 100 });
    const onRows = await meanRowsPerPass(on.url);
    if (onRows !== null) emit({ case: "batches", meanRowsPerPass: onRows });
    const multiRows = multi ? await meanRowsPerPass(multi.url) : null;
    if (multiRows !== null) {
      emit({ case: "batches", processes: PROCESSES, meanRowsPerPass: multiRows });
    }

    if (process.env.TRAINING === "0") return;
    // Latency while a Fashion-MNIST-size job trains in the batching server's worker pool: the
    // other servers stop, so that one claims the job, and the figures compare with the same
    // server idle just before.
    await multi?.stop();
    await off.stop();
    await ceiling.stop();
    const small = loads(SMALL, rows[SMALL]!).predict;
    const lagKey = "nodejs_eventloop_lag_p99_seconds";
    const phases: { phase: string; lag: number | null }[] = [];
    for (const phase of ["idle", "during-training"]) {
      let jobId: string | undefined;
      if (phase === "during-training") {
        const job = await submit(server.url, trainRequest(`${LARGE}-load`, 6000, 50));
        jobId = job.id;
        await waitFor(server.url, job.id, (j) => j.status === "running" && j.progress.epoch >= 1);
      }
      await metricValue(server.url, lagKey); // a scrape resets the lag histogram
      for (const c of [1, 16]) {
        const m = await measure(server.url, small, c);
        emit({
          case: phase,
          model: SMALL,
          route: "POST /predict",
          batching: true,
          connections: c,
          ...m,
        });
      }
      phases.push({ phase, lag: await metricValue(server.url, lagKey) });
      if (jobId) {
        const job = (await json(`${server.url}/jobs/${jobId}`)) as JobView;
        emit({
          case: "training-check",
          trainingStillRunning: job.status === "running",
          epochsDone: job.progress.epoch,
          eventLoopLagP99MsIdle: Math.round((phases[0]!.lag ?? Number.NaN) * 1e5) / 100,
          eventLoopLagP99MsTraining: Math.round((phases[1]!.lag ?? Number.NaN) * 1e5) / 100,
        });
        await json(`${server.url}/jobs/${jobId}/cancel`, { method: "POST", body: "{}" }).catch(
          () => {},
        );
      }
    }
  } finally {
    await stopAll();
    rmSync(scratch, { recursive: true, force: true });
    printTable();
  }
}

function printTable(): void {
  console.log(
    `\n${"case".padEnd(16)} ${"model".padEnd(13)} ${"route".padEnd(45)} batch  procs  conn     rps  p50 ms  p99 ms  of ceiling`,
  );
  for (const r of results) {
    if (r.rps === undefined) continue;
    console.log(
      [
        String(r.case).padEnd(16),
        String(r.model).padEnd(13),
        String(r.route).padEnd(45),
        String(r.batching ?? "-").padEnd(6),
        String(r.processes ?? 1).padStart(5),
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
// Nothing of ours is left running; do not wait on stray handles (pino, pg) to exit.
process.exit(0);
