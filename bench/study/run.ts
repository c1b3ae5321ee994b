/**
 * One study of `npm run bench:study`, driven as a client drives nnserve: POST /studies, GET
 * /studies/{id} until it ends, then the winner's version from GET /models/{m} (its evaluation on
 * its own held-back rows) and POST /predict on the bench's common holdout (rows no study saw).
 */
import { readFileSync } from "node:fs";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { Study, StudyRequestInput } from "../../src/training/studies/schemas.ts";
import type { Model } from "../../src/versions/schemas.ts";
import type { Run, SchedulerName } from "./summary.ts";

export interface Fixture {
  name: string;
  task: "classification" | "regression";
  rows: number;
  features: number;
  classes: number;
  /** The 75% to upload. */
  csv: string;
  /** The 25% every winner is scored on: {inputs, targets}. */
  holdout: string;
}

export interface StudySettings {
  space: StudyRequestInput["space"];
  budget: NonNullable<StudyRequestInput["budget"]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function api<T>(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  if (response.status >= 300) {
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  }
  return json;
}

export async function upload(base: string, fixture: Fixture): Promise<string> {
  const response = await fetch(`${base}/datasets?name=${fixture.name}`, {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: readFileSync(fixture.csv),
  });
  const json = (await response.json()) as { id: string };
  if (response.status !== 201) throw new Error(`upload ${fixture.name}: ${JSON.stringify(json)}`);
  return json.id;
}

/** Accuracy, or R², of `version` on the holdout rows, through POST /predict. */
async function holdoutScore(
  base: string,
  fixture: Fixture,
  model: string,
  version: number,
): Promise<number> {
  const { inputs, targets } = JSON.parse(readFileSync(fixture.holdout, "utf8")) as {
    inputs: number[][];
    targets: (string | number)[];
  };
  const answer = await api<PredictResponse>(base, "POST", "/predict", { model, version, inputs });
  const predictions = answer.predictions!;
  if (fixture.task === "classification") {
    const right = predictions.filter((p, i) => "label" in p && p.label === targets[i]).length;
    return right / targets.length;
  }
  const ys = targets as number[];
  const mean = ys.reduce((s, y) => s + y, 0) / ys.length;
  let residual = 0;
  let total = 0;
  predictions.forEach((p, i) => {
    residual += (ys[i]! - ("value" in p ? p.value : Number.NaN)) ** 2;
    total += (ys[i]! - mean) ** 2;
  });
  return 1 - residual / total;
}

/** The completed trial with the best objective at the top rung (its last version is kept). */
function topRungWinner(study: Study): { trial: number; version: number } | null {
  const sign = study.objective.direction === "minimize" ? 1 : -1;
  const completed = study.trials
    .filter((t) => t.status === "completed" && t.metric !== null && t.version !== null)
    .sort((a, b) => sign * (a.metric! - b.metric!) || a.trial - b.trial);
  const first = completed[0];
  return first ? { trial: first.trial, version: first.version! } : null;
}

async function untilEnded(base: string, id: string): Promise<Study> {
  for (;;) {
    const study = await api<Study>(base, "GET", `/studies/${id}`);
    if (study.status !== "running") return study;
    await sleep(250);
  }
}

export async function runStudy(
  base: string,
  fixture: Fixture,
  dataset: string,
  scheduler: SchedulerName,
  seed: number,
  settings: StudySettings,
): Promise<{ run: Run; study: Study }> {
  const model = `${fixture.name}-${scheduler}-${seed}`.replaceAll("_", "-");
  const created = await api<Study>(base, "POST", "/studies", {
    name: `bench ${fixture.name} ${scheduler} seed ${seed}`,
    model,
    dataset,
    target: "target",
    objective: { metric: "valLoss" },
    space: settings.space,
    budget: settings.budget,
    scheduler,
    seed,
    // Every trial's last version stays, so the top-rung winner can be scored too.
    keep: "all",
  } satisfies StudyRequestInput);
  const study = await untilEnded(base, created.id);
  const best = study.best;
  const { versions } = await api<Model>(base, "GET", `/models/${model}`);
  const evaluation = versions.find((v) => v.version === best?.version)?.evaluation ?? null;
  const top = topRungWinner(study);
  const run: Run = {
    dataset: fixture.name,
    scheduler,
    seed,
    status: study.status,
    bestMetric: best?.metric ?? null,
    bestTrial: best?.trial ?? null,
    bestEpochs: best?.epochs ?? null,
    testScore:
      evaluation === null
        ? null
        : evaluation.task === "classification"
          ? evaluation.accuracy
          : evaluation.r2,
    holdoutScore:
      best?.version != null ? await holdoutScore(base, fixture, model, best.version) : null,
    topRungHoldout: top ? await holdoutScore(base, fixture, model, top.version) : null,
    epochsSpent: study.epochsSpent,
    epochsIfExhaustive: study.epochsIfExhaustive,
    segments: study.trials.reduce(
      (n, t) => n + Math.max(t.rungs.length, t.status === "failed" ? 1 : 0),
      0,
    ),
    seconds: (Date.parse(study.finishedAt ?? study.createdAt) - Date.parse(study.createdAt)) / 1000,
  };
  return { run, study };
}
