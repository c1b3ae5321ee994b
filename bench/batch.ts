/**
 * Batch scoring benchmark (npm run bench:batch). Not a test: it asserts nothing, it prints
 * figures. An in-process nnserve on a throwaway database scores two stored datasets as batch
 * jobs, and reports rows per second (rows / (finishedAt - startedAt) of the job) and the RSS:
 *   - a Fashion-MNIST-size model (784-256-128-10, weights from one short epoch on random data:
 *     what is timed is scoring, not accuracy) over FMNIST_ROWS rows of 784 numeric features;
 *   - a small tabular model (20 numeric and 2 categorical features, 32-16-2) over TABULAR_ROWS
 *     rows (default 1,000,000) with an id passed through.
 * RSS is sampled every 50 ms while each job runs (after a GC), beside the process's peak.
 *   DATABASE_URL      an admin URL of a Postgres (default postgres://postgres@127.0.0.1:5432/postgres)
 *   FMNIST_ROWS=20000 TABULAR_ROWS=1000000 SCORING_CHUNK_ROWS=2000
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import pg from "pg";
import { pino } from "pino";
import { startNnserve } from "../src/app.ts";
import type { TypedColumn } from "../src/datasets/table.ts";
import { numericStats } from "../src/datasets/table.ts";
import { Random } from "../src/engine/index.ts";
import { loadConfig } from "../src/platform/config.ts";
import { float64ToBytes, int32ToBytes } from "../src/platform/db/binary.ts";
import type { BatchPrediction } from "../src/prediction/batch/schemas.ts";
import type { TrainAccepted } from "../src/training/request.ts";

const ADMIN = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const FMNIST_ROWS = Number(process.env.FMNIST_ROWS ?? 20_000);
const TABULAR_ROWS = Number(process.env.TABULAR_ROWS ?? 1_000_000);
const CHUNK = process.env.SCORING_CHUNK_ROWS ?? "2000";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

function numericColumn(name: string, rows: number, random: Random, scale = 1): TypedColumn {
  const values = new Float64Array(rows);
  for (let r = 0; r < rows; r++) values[r] = random.normal() * scale;
  return { name, type: "numeric", values };
}

function categoricalColumn(
  name: string,
  rows: number,
  categories: string[],
  random: Random,
): TypedColumn {
  const codes = new Int32Array(rows);
  for (let r = 0; r < rows; r++) codes[r] = random.below(categories.length);
  return { name, type: "categorical", categories, codes };
}

function built(columns: TypedColumn[], rows: number) {
  const views = columns.map((c) => {
    if (c.type === "numeric") return numericStats(c.name, c.values);
    const counts = new Array<number>(c.categories.length).fill(0);
    for (const code of c.codes) counts[code]!++;
    return {
      name: c.name,
      type: "categorical" as const,
      count: rows,
      missing: 0,
      categories: c.categories.map((value, i) => ({ value, count: counts[i]! })),
    };
  });
  return { rows, columns, views };
}

async function main() {
  const name = `nnserve_bench_batch_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  const logger = pino({ level: "warn" });
  const config = loadConfig({
    DATABASE_URL: url.toString(),
    HOST: "127.0.0.1",
    PORT: "0",
    GRPC_PORT: "0",
    WORKERS: "1",
    JOB_POLL_MS: "100",
    SCORING_CHUNK_ROWS: CHUNK,
    DRIFT_SAMPLE_RATE: "0",
    LOG_LEVEL: "warn",
  });
  const nnserve = await startNnserve({ config, logger });
  const post = async <T>(path: string, body: unknown) => {
    const response = await fetch(`${nnserve.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as T;
    if (response.status >= 300)
      throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  const get = async <T>(path: string) => (await (await fetch(`${nnserve.url}${path}`)).json()) as T;
  // Stored with plain SQL a column at a time: one transaction of 170 MB outlasts Prisma's
  // interactive transaction timeout.
  const direct = new pg.Pool({ connectionString: url.toString(), max: 2 });
  const datasets = {
    async create(datasetName: string, table: ReturnType<typeof built>) {
      const bytes = table.columns.map((c) =>
        c.type === "numeric" ? float64ToBytes(c.values) : int32ToBytes(c.codes),
      );
      const { rows } = await direct.query<{ id: string }>(
        "INSERT INTO datasets (name, rows, columns, bytes) VALUES ($1, $2, $3, $4) RETURNING id",
        [
          datasetName,
          table.rows,
          JSON.stringify(table.views),
          bytes.reduce((n, b) => n + b.byteLength, 0),
        ],
      );
      const id = rows[0]!.id;
      for (let position = 0; position < bytes.length; position++)
        await direct.query(
          "INSERT INTO dataset_columns (dataset_id, position, values) VALUES ($1, $2, $3)",
          [id, position, Buffer.from(bytes[position]!.buffer)],
        );
      return { id };
    },
  };

  async function train(body: Record<string, unknown>) {
    const accepted = await post<TrainAccepted>("/train", body);
    for (;;) {
      const job = await get<{ status: string; error: string | null }>(`/jobs/${accepted.jobId}`);
      if (job.status === "succeeded") return;
      if (job.status === "failed") throw new Error(`training failed: ${job.error}`);
      await sleep(200);
    }
  }

  async function score(model: string, dataset: string, passthrough: string[]) {
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const started = await post<BatchPrediction>(`/models/${model}/batch-predictions`, {
      dataset,
      passthrough,
      ignoreExtraColumns: true,
    });
    let job: BatchPrediction;
    for (;;) {
      job = await get<BatchPrediction>(`/batch-predictions/${started.id}`);
      if (job.status === "succeeded" || job.status === "failed") break;
      await sleep(100);
    }
    clearInterval(sampler);
    if (job.status !== "succeeded") throw new Error(`batch failed: ${job.error}`);
    const seconds = (Date.parse(job.finishedAt!) - Date.parse(job.startedAt!)) / 1000;
    return {
      model,
      rows: job.totalRows,
      chunkRows: job.chunkRows,
      seconds: Number(seconds.toFixed(2)),
      rowsPerSecond: Math.round(job.totalRows / seconds),
      rssBeforeMb: mb(before),
      rssPeakDuringMb: mb(peak),
    };
  }

  try {
    const random = new Random(1);
    const results = [];

    // Fashion-MNIST size: 784 numeric features, 10 classes.
    const pixels = (rows: number) => [
      ...Array.from({ length: 784 }, (_, i) => numericColumn(`px${i}`, rows, random)),
      categoricalColumn(
        "label",
        rows,
        Array.from({ length: 10 }, (_, i) => `c${i}`),
        random,
      ),
    ];
    const fmnistTrain = await datasets.create("fmnist-train", built(pixels(256), 256));
    await train({
      model: "bench-fmnist",
      dataset: fmnistTrain.id,
      target: "label",
      network: {
        layers: [
          { units: 256, activation: "relu" },
          { units: 128, activation: "relu" },
          { units: 10, activation: "softmax" },
        ],
      },
      loss: "sparseCategoricalCrossentropy",
      training: { epochs: 1, batchSize: 64, seed: 1 },
    });
    const fmnist = await datasets.create("fmnist", built(pixels(FMNIST_ROWS), FMNIST_ROWS));
    results.push(await score("bench-fmnist", fmnist.id, []));

    // Tabular: 20 numeric, 2 categorical features and an id.
    const tabular = (rows: number) => {
      const ids = new Float64Array(rows);
      for (let r = 0; r < rows; r++) ids[r] = r;
      return [
        { name: "id", type: "numeric" as const, values: ids },
        ...Array.from({ length: 20 }, (_, i) => numericColumn(`f${i}`, rows, random, 1 + i)),
        categoricalColumn("region", rows, ["north", "south", "east", "west"], random),
        categoricalColumn("plan", rows, ["basic", "pro", "team"], random),
        categoricalColumn("churned", rows, ["yes", "no"], random),
      ];
    };
    const tabularTrain = await datasets.create("tabular-train", built(tabular(2_000), 2_000));
    await train({
      model: "bench-tabular",
      dataset: tabularTrain.id,
      target: "churned",
      features: [...Array.from({ length: 20 }, (_, i) => `f${i}`), "region", "plan"],
      network: {
        layers: [
          { units: 32, activation: "relu" },
          { units: 16, activation: "relu" },
          { units: 2, activation: "softmax" },
        ],
      },
      loss: "sparseCategoricalCrossentropy",
      training: { epochs: 2, batchSize: 64, seed: 1 },
    });
    const big = await datasets.create("tabular", built(tabular(TABULAR_ROWS), TABULAR_ROWS));
    results.push(await score("bench-tabular", big.id, ["id"]));

    const header = {
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      loadavg: loadavg().map((l) => Number(l.toFixed(2))),
      node: process.version,
      processPeakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    console.log(JSON.stringify(header));
    for (const row of results) console.log(JSON.stringify(row));
    console.table(results);
  } finally {
    await direct.end();
    await nnserve.close();
    await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

await main();
