/**
 * `npm run bench:study`: ASHA against random search with the same trial budget, on the quality
 * fixtures (bench/quality/sklearn_baseline.py's datasets, uploaded as CSV as a user would).
 * An in-process nnserve (the composition root, startNnserve, with its job runner and study
 * conductor) on a throwaway database; everything goes through its REST API: POST /datasets,
 * POST /studies, GET /studies/{id}, GET /models/{m}/versions/{v}. For each dataset and seed the
 * two schedulers get the same request but for `scheduler` (so the same sampled trials), one
 * after the other, the first alternating with the seed. Prints the best objective each found,
 * the winner's test score (its version's evaluation: accuracy, or R²), the epochs spent,
 * epochsIfExhaustive and the wall time, as mean ± sd over the seeds, side by side. Not a test:
 * nothing here asserts.
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
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { pino } from "pino";
import { type Nnserve, startNnserve } from "../src/app.ts";
import { loadConfig } from "../src/platform/config.ts";
import type { Study, StudyRequestInput } from "../src/training/studies/schemas.ts";
import type { Model } from "../src/versions/schemas.ts";
import {
  detailLines,
  pairedLines,
  type Run,
  type SchedulerName,
  summaryTable,
} from "./study/summary.ts";

interface Fixture {
  name: string;
  task: "classification" | "regression";
  rows: number;
  features: number;
  classes: number;
  file: string;
}

const env = process.env;
const ADMIN = env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const ONLY = (env.ONLY ?? "digits,breast_cancer,friedman1").split(",");
const SEEDS = (env.SEEDS ?? "1,2,3").split(",").map(Number);
const BUDGET = {
  trials: Number(env.TRIALS ?? 27),
  minEpochs: Number(env.MIN_EPOCHS ?? 3),
  maxEpochs: Number(env.MAX_EPOCHS ?? 81),
  reductionFactor: Number(env.ETA ?? 3),
  maxConcurrent: Number(env.CONCURRENCY ?? 2),
};
const WORKERS = env.WORKERS ?? "2";
const PYTHON = env.PYTHON ?? "/usr/bin/python3";
const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The example space: every trial of every scheduler is drawn from it. */
const SPACE: StudyRequestInput["space"] = {
  layers: { choice: [[64], [128, 64], [256, 128, 64]] },
  activation: { choice: ["relu", "elu"] },
  learningRate: { logUniform: [1e-4, 3e-2] },
  dropout: { uniform: [0, 0.4] },
  batchSize: { choice: [32, 64, 128] },
  weightDecay: { logUniform: [1e-6, 1e-2] },
};

function machine(when: string): string {
  const load = loadavg().map((l) => l.toFixed(2));
  return `${when}: ${new Date().toISOString()}, CPU ${cpus()[0]?.model ?? "?"} (${cpus().length} cores), load average ${load.join(" ")}, Node ${process.version}`;
}

function makeFixtures(dir: string): Fixture[] {
  const made = spawnSync(PYTHON, [join(here, "study", "datasets.py"), dir, ONLY.join(",")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (made.status !== 0)
    throw new Error(`${PYTHON} bench/study/datasets.py failed (${made.status})`);
  return JSON.parse(made.stdout) as Fixture[];
}

async function api<T>(nnserve: Nnserve, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${nnserve.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  if (response.status >= 300)
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function upload(nnserve: Nnserve, fixture: Fixture): Promise<string> {
  const response = await fetch(`${nnserve.url}/datasets?name=${fixture.name}`, {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: readFileSync(fixture.file),
  });
  const json = (await response.json()) as { id: string };
  if (response.status !== 201) throw new Error(`upload ${fixture.name}: ${JSON.stringify(json)}`);
  return json.id;
}

/** One study through the REST API, polled until it ends, and its winner's test score. */
async function runStudy(
  nnserve: Nnserve,
  fixture: Fixture,
  dataset: string,
  scheduler: SchedulerName,
  seed: number,
): Promise<{ run: Run; study: Study }> {
  const model = `${fixture.name}-${scheduler}-${seed}`.replaceAll("_", "-");
  const created = await api<Study>(nnserve, "POST", "/studies", {
    name: `bench ${fixture.name} ${scheduler} seed ${seed}`,
    model,
    dataset,
    target: "target",
    objective: { metric: "valLoss" },
    space: SPACE,
    budget: BUDGET,
    scheduler,
    seed,
  } satisfies StudyRequestInput);
  let study = created;
  while (study.status === "running") {
    await sleep(250);
    study = await api<Study>(nnserve, "GET", `/studies/${created.id}`);
  }
  let testScore: number | null = null;
  if (study.best?.version != null) {
    const { versions } = await api<Model>(nnserve, "GET", `/models/${model}`);
    const evaluation = versions.find((v) => v.version === study.best?.version)?.evaluation ?? null;
    testScore =
      evaluation === null
        ? null
        : evaluation.task === "classification"
          ? evaluation.accuracy
          : evaluation.r2;
  }
  const run: Run = {
    dataset: fixture.name,
    scheduler,
    seed,
    status: study.status,
    bestMetric: study.best?.metric ?? null,
    bestTrial: study.best?.trial ?? null,
    bestEpochs: study.best?.epochs ?? null,
    testScore,
    epochsSpent: study.epochsSpent,
    epochsIfExhaustive: study.epochsIfExhaustive,
    segments: study.trials.reduce(
      (n, t) => n + Math.max(t.rungs.length, t.status === "failed" ? 1 : 0),
      0,
    ),
    seconds:
      (Date.parse(study.finishedAt ?? new Date().toISOString()) - Date.parse(study.createdAt)) /
      1000,
  };
  return { run, study };
}

/** Both schedulers on one dataset and seed; checks they sampled the same trials. */
async function pair(
  nnserve: Nnserve,
  fixture: Fixture,
  dataset: string,
  seed: number,
  first: number,
) {
  const order: SchedulerName[] = first % 2 === 0 ? ["asha", "random"] : ["random", "asha"];
  const done: { run: Run; study: Study }[] = [];
  for (const scheduler of order) {
    const result = await runStudy(nnserve, fixture, dataset, scheduler, seed);
    const r = result.run;
    console.error(
      `${r.dataset} ${r.scheduler} seed ${r.seed}: ${r.status}, best valLoss ${r.bestMetric?.toFixed(4)} (trial ${r.bestTrial}, ${r.bestEpochs} epochs), test ${r.testScore?.toFixed(4)}, epochs ${r.epochsSpent}/${r.epochsIfExhaustive}, ${r.seconds.toFixed(1)} s`,
    );
    done.push(result);
  }
  const params = done.map((d) => JSON.stringify(d.study.trials.map((t) => t.params)));
  if (params[0] !== params[1])
    console.error(
      `WARNING: ${fixture.name} seed ${seed}: the two studies sampled different trials`,
    );
  return done.map((d) => d.run);
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
    const runs: Run[] = [];
    for (const fixture of fixtures) {
      const dataset = await upload(nnserve, fixture);
      for (const [i, seed] of SEEDS.entries())
        runs.push(...(await pair(nnserve, fixture, dataset, seed, i)));
    }
    const scoreName = (d: string) =>
      fixtures.find((f) => f.name === d)?.task === "classification" ? "accuracy" : "R²";
    const b = BUDGET;
    console.log(start);
    console.log(machine("end"));
    console.log(
      `budget: ${b.trials} trials, minEpochs ${b.minEpochs}, maxEpochs ${b.maxEpochs}, η ${b.reductionFactor}, maxConcurrent ${b.maxConcurrent}; WORKERS ${WORKERS}; objective valLoss; seeds ${SEEDS.join(",")}; mean ± sd over the seeds\n`,
    );
    console.log(
      [...summaryTable(runs, scoreName), "", ...pairedLines(runs), "", ...detailLines(runs)].join(
        "\n",
      ),
    );
  } finally {
    await nnserve?.close();
    await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
