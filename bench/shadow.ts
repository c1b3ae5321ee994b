/**
 * npm run bench:shadow — what a shadow costs the version that answers (issue 20). One server
 * (a child process, `src/main.ts`) on an existing Postgres (DATABASE_URL, default the local one,
 * database nnserve_bench_shadow, recreated), a small XOR model with two ready versions; POST
 * /predict at CONCURRENCY connections for DURATION seconds, with the split sending everything to
 * v1, alone and then with v2 as its shadow, alternating for ROUNDS rounds. Prints JSON lines
 * (p50/p99 ms and requests/s per case and round) and the medians.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import pg from "pg";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BASE = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const DB = "nnserve_bench_shadow";
const DURATION = Number(process.env.DURATION ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CONCURRENCY = (process.env.CONCURRENCY ?? "1,16").split(",").map(Number);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

async function call(url: string, method: string, body?: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function freshDatabase(): Promise<string> {
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();
  const url = new URL(BASE);
  url.pathname = `/${DB}`;
  return url.toString();
}

async function startServer(databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", "src/main.ts"],
    {
      cwd: repo,
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        HOST: "127.0.0.1",
        PORT: String(port),
        GRPC_PORT: "0",
        WORKERS: "1",
        AUTH: "off",
        LOG_LEVEL: "warn",
        RATE_LIMIT_PER_MINUTE: "0",
        OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "0",
        OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: "0",
        OVERLOAD_MAX_HEAP_USED_BYTES: "0",
      },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return { url, child };
    } catch {}
    await sleep(100);
  }
  throw new Error("the server did not become ready");
}

async function twoVersions(url: string): Promise<void> {
  const { jobId } = (await call(`${url}/train`, "POST", {
    model: "shadowed",
    network: {
      inputs: 2,
      layers: [
        { units: 8, activation: "tanh" },
        { units: 1, activation: "sigmoid" },
      ],
    },
    loss: "binaryCrossentropy",
    optimizer: { name: "adam", learningRate: 0.1 },
    training: { epochs: 80, batchSize: 4, seed: 1, validationSplit: 0 },
    data: {
      inputs: [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ],
      targets: [[0], [1], [1], [0]],
    },
  })) as { jobId: string };
  for (;;) {
    const job = (await call(`${url}/jobs/${jobId}`, "GET")) as { status: string };
    if (job.status === "succeeded") break;
    if (job.status === "failed" || job.status === "cancelled") throw new Error(job.status);
    await sleep(100);
  }
  const file = await call(`${url}/models/shadowed/versions/1/export`, "GET");
  await call(`${url}/models/shadowed/import`, "POST", file);
}

async function measure(url: string, connections: number) {
  const options = {
    url: `${url}/predict`,
    method: "POST" as const,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "shadowed", inputs: [[0, 1]] }),
    connections,
  };
  await autocannon({ ...options, duration: 1 });
  const r = await autocannon({ ...options, duration: DURATION });
  return {
    p50: r.latency.p50,
    p99: r.latency.p99,
    rps: Math.round(r.requests.average),
    non2xx: r.non2xx,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const { url, child } = await startServer(await freshDatabase());
try {
  await twoVersions(url);
  console.log(JSON.stringify({ cpu: cpus()[0]?.model, cores: cpus().length, loadavg: loadavg() }));
  const rows: { case: string; connections: number; p50: number; p99: number; rps: number }[] = [];
  for (const connections of CONCURRENCY) {
    for (let round = 0; round < ROUNDS; round++) {
      for (const shadow of [false, true]) {
        await call(`${url}/models/shadowed/traffic`, "PUT", {
          split: [{ version: 1, weight: 100 }],
          ...(shadow ? { shadow: { version: 2 } } : {}),
        });
        const r = await measure(url, connections);
        const row = { case: shadow ? "with shadow" : "alone", connections, round, ...r };
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  }
  const traffic = (await call(`${url}/models/shadowed/traffic`, "GET")) as { shadow: unknown };
  console.log(JSON.stringify({ shadowFigures: traffic.shadow }));
  for (const connections of CONCURRENCY) {
    for (const name of ["alone", "with shadow"]) {
      const of = rows.filter((r) => r.case === name && r.connections === connections);
      console.log(
        `${name.padEnd(12)} c=${String(connections).padEnd(3)} p50 ${median(of.map((r) => r.p50))} ms  p99 ${median(of.map((r) => r.p99))} ms  ${median(of.map((r) => r.rps))} req/s`,
      );
    }
  }
  console.log(JSON.stringify({ loadavgAfter: loadavg() }));
} finally {
  child.kill("SIGTERM");
}
