/**
 * `npm run bench:quality`: the default recipe (src/training/recipe.ts) against scikit-learn's
 * MLPClassifier / MLPRegressor defaults on the same splits and the same standard scaling, over
 * bundled and generated datasets (bench/quality/sklearn_baseline.py writes them and scores
 * scikit-learn; this file trains the recipe on the very same numbers). Prints a table of test
 * scores (accuracy, or R² for regression; mean over the seeds) side by side, the mean
 * difference, and the training times. Not a test: nothing here asserts.
 *
 * Env: SEEDS (default 0,1,2), ONLY (comma-separated dataset names), PYTHON (/usr/bin/python3).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createNetwork, type NetworkSpec, fit as train } from "../src/engine/index.ts";
import { defaultRecipe } from "../src/training/recipe.ts";
import { dropoutOf } from "../src/training/stored-training.ts";

interface Payload {
  name: string;
  task: "classification" | "regression";
  kind: string;
  classes: number;
  features: number;
  xTrain: number[];
  yTrain: number[];
  xTest: number[];
  yTest: number[];
  sklearn: { seed: number; score: number; seconds: number }[];
}

const here = dirname(fileURLToPath(import.meta.url));
const seeds = (process.env.SEEDS ?? "0,1,2").split(",").map(Number);
const python = process.env.PYTHON ?? "/usr/bin/python3";
const dir = mkdtempSync(join(tmpdir(), "nnserve-quality-"));

function score(p: Payload, out: Float32Array, outputs: number): number {
  const n = p.yTest.length;
  if (p.task === "classification") {
    let correct = 0;
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let j = 1; j < outputs; j++)
        if (out[r * outputs + j]! > out[r * outputs + best]!) best = j;
      if (best === p.yTest[r]) correct++;
    }
    return correct / n;
  }
  const mean = p.yTest.reduce((s, y) => s + y, 0) / n;
  let ssRes = 0;
  let ssTot = 0;
  for (let r = 0; r < n; r++) {
    ssRes += (p.yTest[r]! - out[r]!) ** 2;
    ssTot += (p.yTest[r]! - mean) ** 2;
  }
  return 1 - ssRes / ssTot;
}

async function recipeRun(p: Payload, seed: number) {
  const rows = p.yTrain.length;
  const recipe = defaultRecipe({ rows, features: p.features, classes: p.classes });
  const spec: NetworkSpec = {
    inputs: p.features,
    layers: recipe.network.layers.map(({ dropout: _d, ...l }) => l),
  };
  const net = createNetwork(spec, { seed });
  const inputs = Float32Array.from(p.xTrain);
  const data =
    p.task === "classification"
      ? { inputs, rows, labels: Int32Array.from(p.yTrain) }
      : { inputs, rows, targets: Float32Array.from(p.yTrain) };
  const dropout = dropoutOf(recipe.network);
  const started = performance.now();
  const result = await train(net, data, {
    loss: recipe.loss,
    optimizer: recipe.optimizer,
    epochs: recipe.training.epochs,
    batchSize: recipe.training.batchSize,
    seed,
    validationSplit: recipe.training.validationSplit,
    ...(recipe.training.earlyStopping ? { earlyStopping: recipe.training.earlyStopping } : {}),
    ...(recipe.training.labelSmoothing ? { labelSmoothing: recipe.training.labelSmoothing } : {}),
    ...(dropout ? { dropout } : {}),
  });
  const seconds = (performance.now() - started) / 1000;
  const out = net.predict(Float32Array.from(p.xTest), p.yTest.length);
  return { score: score(p, out, net.outputs), seconds, epochs: result.epochsRun };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

async function main() {
  const made = spawnSync(
    python,
    [join(here, "quality", "sklearn_baseline.py"), dir, seeds.join(","), process.env.ONLY ?? ""],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 },
  );
  if (made.status !== 0) throw new Error(`${python} sklearn_baseline.py failed (${made.status})`);
  const names = JSON.parse(made.stdout) as string[];
  const lines: string[] = [];
  const diffs: number[] = [];
  lines.push(
    "| dataset | kind | task | train rows | features | scikit-learn MLP | recipe | difference | sklearn s | recipe s | recipe epochs |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const name of names) {
    const p = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as Payload;
    const runs = [];
    for (const s of p.sklearn.map((r) => r.seed)) runs.push(await recipeRun(p, s));
    const sk = mean(p.sklearn.map((r) => r.score));
    const ours = mean(runs.map((r) => r.score));
    diffs.push(ours - sk);
    const line = `| ${name} | ${p.kind} | ${p.task === "classification" ? `classification (${p.classes})` : "regression (R²)"} | ${p.yTrain.length} | ${p.features} | ${sk.toFixed(4)} | ${ours.toFixed(4)} | ${(ours - sk >= 0 ? "+" : "") + (ours - sk).toFixed(4)} | ${mean(p.sklearn.map((r) => r.seconds)).toFixed(1)} | ${mean(runs.map((r) => r.seconds)).toFixed(1)} | ${runs.map((r) => r.epochs).join("/")} |`;
    lines.push(line);
    console.error(line);
  }
  console.log(lines.join("\n"));
  console.log(
    `\nmean difference (recipe − scikit-learn) over ${names.length} datasets: ${(mean(diffs) >= 0 ? "+" : "") + mean(diffs).toFixed(4)}; seeds ${seeds.join(",")}`,
  );
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
