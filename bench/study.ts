/**
 * `npm run bench:study`: ASHA against random search with the same trial budget, on the quality
 * fixtures (bench/quality/sklearn_baseline.py's datasets and 75/25 split; bench/study/
 * datasets.py). An in-process nnserve (the composition root, startNnserve, with its job runner
 * and study conductor) on a throwaway database, driven through its REST API only (bench/study/
 * run.ts). For each dataset and seed the two schedulers get the same request but for
 * `scheduler`, so the same sampled trials; they run one after the other, the first alternating
 * with the seed. Printed side by side, as mean ± sd over the seeds: the best objective each
 * found, its winner's test score (the version's evaluation on the rows its trial held back, and
 * on the common 25% holdout no study saw), the epochs spent, epochsIfExhaustive and the wall
 * time. Not a test: nothing here asserts.
 *
 *   ONLY=digits,breast_cancer,friedman1   datasets (any of bench:quality's but large100k)
 *   SEEDS=1,2,3                           study seeds
 *   TRIALS=27 MIN_EPOCHS=3 MAX_EPOCHS=81 ETA=3 CONCURRENCY=2   the budget (the example)
 *   WORKERS=2                             training workers of the service
 *   DATABASE_URL                          an admin URL of a Postgres (default the local one)
 *   PYTHON=/usr/bin/python3
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { pino } from "pino";
import { type Nnserve, startNnserve } from "../src/app.ts";
import { loadConfig } from "../src/platform/config.ts";
import type { Study } from "../src/training/studies/schemas.ts";
import { type Fixture, runStudy, type StudySettings, upload } from "./study/run.ts";
import {
  detailLines,
  pairedLines,
  type Run,
  type SchedulerName,
  summaryTable,
} from "./study/summary.ts";

const env = process.env;
const ADMIN = env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const ONLY = (env.ONLY ?? "digits,breast_cancer,friedman1").split(",");
const SEEDS = (env.SEEDS ?? "1,2,3").split(",").map(Number);
const WORKERS = env.WORKERS ?? "2";
const PYTHON = env.PYTHON ?? "/usr/bin/python3";
const here = dirname(fileURLToPath(import.meta.url));

const SETTINGS: StudySettings = {
  // The example space.
  space: {
    layers: { choice: [[64], [128, 64], [256, 128, 64]] },
    activation: { choice: ["relu", "elu"] },
    learningRate: { logUniform: [1e-4, 3e-2] },
    dropout: { uniform: [0, 0.4] },
    batchSize: { choice: [32, 64, 128] },
    weightDecay: { logUniform: [1e-6, 1e-2] },
  },
  budget: {
    trials: Number(env.TRIALS ?? 27),
    minEpochs: Number(env.MIN_EPOCHS ?? 3),
    maxEpochs: Number(env.MAX_EPOCHS ?? 81),
    reductionFactor: Number(env.ETA ?? 3),
    maxConcurrent: Number(env.CONCURRENCY ?? 2),
  },
};

function machine(when: string): string {
  const load = loadavg().map((l) => l.toFixed(2));
  const cpu = `${cpus()[0]?.model ?? "?"} (${cpus().length} cores)`;
  return `${when}: ${new Date().toISOString()}, CPU ${cpu}, load average ${load.join(" ")}, Node ${process.version}`;
}

function makeFixtures(dir: string): Fixture[] {
  const made = spawnSync(PYTHON, [join(here, "study", "datasets.py"), dir, ONLY.join(",")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (made.status !== 0) throw new Error(`${PYTHON} bench/study/datasets.py failed`);
  return JSON.parse(made.stdout) as Fixture[];
}

/** Both schedulers on one dataset and seed; warns unless they sampled the same trials. */
async function pair(base: string, fixture: Fixture, dataset: string, seed: number, i: number) {
  const order: SchedulerName[] = i % 2 === 0 ? ["asha", "random"] : ["random", "asha"];
  const done: { run: Run; study: Study }[] = [];
  for (const scheduler of order) {
    const result = await runStudy(base, fixture, dataset, scheduler, seed, SETTINGS);
    const r = result.run;
    console.error(
      `${r.dataset} ${r.scheduler} seed ${r.seed}: ${r.status}, best valLoss ${r.bestMetric?.toFixed(4)} (trial ${r.bestTrial}, ${r.bestEpochs} epochs), test ${r.testScore?.toFixed(4)}, holdout ${r.holdoutScore?.toFixed(4)}, epochs ${r.epochsSpent}/${r.epochsIfExhaustive}, ${r.seconds.toFixed(1)} s`,
    );
    done.push(result);
  }
  const [x, y] = done.map((d) => JSON.stringify(d.study.trials.map((t) => t.params)));
  if (x !== y) console.error(`WARNING: ${fixture.name} seed ${seed}: different trials sampled`);
  return done.map((d) => d.run);
}

async function runAll(nnserve: Nnserve, fixtures: Fixture[]): Promise<Run[]> {
  const runs: Run[] = [];
  for (const fixture of fixtures) {
    const dataset = await upload(nnserve.url, fixture);
    for (const [i, seed] of SEEDS.entries()) {
      runs.push(...(await pair(nnserve.url, fixture, dataset, seed, i)));
    }
  }
  return runs;
}

async function main() {
  const start = machine("start");
  console.error(start);
  const dir = mkdtempSync(join(tmpdir(), "nnserve-study-"));
  const name = `nnserve_bench_study_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  let nnserve: Nnserve | undefined;
  try {
    const fixtures = makeFixtures(dir);
    const config = loadConfig({
      DATABASE_URL: url.toString(),
      HOST: "127.0.0.1",
      PORT: "0",
      GRPC_PORT: "0",
      WORKERS,
      JOB_POLL_MS: "200",
      DRIFT_SAMPLE_RATE: "0",
      LOG_LEVEL: "warn",
    });
    nnserve = await startNnserve({ config, logger: pino({ level: "warn" }) });
    const runs = await runAll(nnserve, fixtures);
    const scoreName = (d: string) =>
      fixtures.find((f) => f.name === d)?.task === "classification" ? "accuracy" : "R²";
    const b = SETTINGS.budget;
    console.log(`${start}\n${machine("end")}`);
    console.log(
      `budget: ${b.trials} trials, minEpochs ${b.minEpochs}, maxEpochs ${b.maxEpochs}, η ${b.reductionFactor}, maxConcurrent ${b.maxConcurrent}; WORKERS ${WORKERS}; objective valLoss; seeds ${SEEDS.join(",")}; mean ± sd over the seeds\n`,
    );
    const tables = [summaryTable(runs, scoreName), pairedLines(runs), detailLines(runs)];
    console.log(tables.map((t) => t.join("\n")).join("\n\n"));
  } finally {
    await nnserve?.close();
    await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
