/**
 * Engine benchmark: the anchor cases (../shared/anchors) on our engine (one thread, and two with the native or WebAssembly kernels), printed as
 * JSON lines with the anchors' field names. With ANCHORS=1 the anchors run in the same process
 * tree right after, and ratio lines compare against them (the machine is noisy: only ratios from
 * the same run mean much). Not a test; nothing here asserts timings.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import {
  createNetwork,
  INITIALIZERS,
  type InitializerName,
  type KernelBackend,
  fit as train,
} from "../src/engine/index.ts";
import { createKernels } from "../src/engine/wasm-kernels.ts";

type Row = Record<string, string | number>;

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");
const dataDir = process.env.FMNIST_DIR ?? "/usr/share/datasets/fashion-mnist";
const epochs = Number(process.env.EPOCHS ?? 5);
/** Seed of the initial weights and the shuffling (SEED env, default 0). */
const seed = Number(process.env.SEED ?? 0);
/**
 * Initial weights of the Fashion-MNIST case (INIT env): torchLinear by default, the anchor's own
 * (torch.nn.Linear's defaults, biases too), so both learn from the same start; "default" is the
 * engine's default for a spec that names none (heUniform, glorotUniform for softmax, zero biases).
 */
const init = process.env.INIT ?? "torchLinear";
if (init !== "default" && !(INITIALIZERS as readonly string[]).includes(init)) {
  throw new Error(`INIT must be "default" or one of ${INITIALIZERS.join(", ")}, got ${init}`);
}
const initializer = init === "default" ? undefined : (init as InitializerName);
/**
 * Kernel backends to run (KERNELS env, e.g. "relaxed simd js"); default the one the engine picks
 * (NNSERVE_KERNELS, else the fastest available). A backend that cannot run here falls back, and
 * the rows are labelled with the one that ran.
 */
const backends = (process.env.KERNELS ?? createKernels().backend)
  .split(/\s+/)
  .filter(Boolean) as KernelBackend[];
/**
 * One seed's test accuracy after 5 epochs varies by about a point (0.865-0.882 over seeds 0-9
 * here, PyTorch's too); the mean over several seeds says how a recipe learns, so ACC_SEEDS more
 * seeds are trained (one thread) and, with ANCHORS=1, PyTorch trains the same seeds
 * (ACC_SEEDS="" skips both).
 */
const accSeeds = (process.env.ACC_SEEDS ?? "1 2 3 4")
  .split(/\s+/)
  .filter(Boolean)
  .map(Number)
  .filter((s) => s !== seed);
/** Thread counts of the training case (THREADS env, default "1 2"; 2 only on native or WebAssembly kernels). */
const threadCounts = (process.env.THREADS ?? "1 2").split(/\s+/).filter(Boolean).map(Number);
/** Useful multiply-adds ×2 per training sample: forward, weight gradients, input gradients but layer 0's. */
const TRAIN_FLOP = 2 * (3 * (784 * 256 + 256 * 128 + 128 * 10) - 784 * 256);
const PREDICT_FLOP = 2 * (784 * 256 + 256 * 128 + 128 * 10);

function idx(name: string): { n: number; data: Float32Array | Int32Array } {
  const b = gunzipSync(readFileSync(join(dataDir, name)));
  const n = b.readUInt32BE(4);
  if (b.readUInt32BE(0) === 2051) {
    const size = b.readUInt32BE(8) * b.readUInt32BE(12);
    const out = new Float32Array(n * size);
    for (let i = 0; i < n * size; i++) out[i] = b[16 + i]! / 255; // same scaling as the anchors
    return { n, data: out };
  }
  return { n, data: Int32Array.from(b.subarray(8)) };
}

function emit(row: Row): Row {
  console.log(JSON.stringify(row));
  return row;
}

/**
 * Each kernel alone on the network's shapes (batch 64, arena-resident, warm), in GFLOP/s, and the
 * Adam update of all 235,146 parameters in µs: the end-to-end figures minus these is the
 * overhead outside the kernels.
 */
function kernelRates(kernels: KernelBackend): Row {
  const k = createKernels(kernels);
  const size = 1_600_000;
  const m = k.arena(undefined, size, 0);
  for (let i = 0; i < size; i++) m[i] = Math.sin(i) * 0.5;
  const x = 0;
  const w = 300_000;
  const b = 600_000;
  const y = 700_000;
  const dz = 800_000;
  const dx = 900_000;
  const db = 1_000_000;
  const dw = 1_000_300;
  const scratch = 1_300_000;
  const time = (f: () => void): number => {
    for (let i = 0; i < 10; i++) f();
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 200) {
      for (let i = 0; i < 5; i++) f();
      n += 5;
    }
    return (performance.now() - t0) / 1000 / n;
  };
  const row: Row = { case: "kernels-784-256-128-10", engine: `nnserve-${k.backend}` };
  const gf = (flop: number, secs: number) => +(flop / secs / 1e9).toFixed(1);
  for (const [name, rows, K, N] of [
    ["l0", 64, 784, 256],
    ["l1", 64, 256, 128],
    ["l2", 64, 128, 10],
  ] as const) {
    const flop = 2 * rows * K * N;
    row[`${name}_forward_gflops`] = gf(
      flop,
      time(() => k.denseForward(m, x, w, b, y, rows, K, N, 3, 0)),
    );
    row[`${name}_weight_grad_gflops`] = gf(
      flop,
      time(() => k.backwardWeights(m, x, dz, dw, db, rows, K, N)),
    );
    if (name !== "l0") {
      row[`${name}_input_grad_gflops`] = gf(
        flop,
        time(() => k.backwardInput(m, dz, w, dx, x, rows, N, K, 3, 0, scratch)),
      );
    }
  }
  row.l0_forward_batch256_gflops = gf(
    2 * 256 * 784 * 256,
    time(() => k.denseForward(m, x, w, b, y, 256, 784, 256, 3, 0)),
  );
  row.l0_forward_1row_us = +(
    time(() => k.denseForward(m, x, w, b, y, 1, 784, 256, 3, 0)) * 1e6
  ).toFixed(1);
  const P = 235_146;
  row.adam_all_params_us = +(
    time(() => k.adamUpdate(m, 0, P, 2 * P, 3 * P, P, 1e-3, 0.9, 0.999, 1e-8, 0, 0.1, 0.01)) * 1e6
  ).toFixed(1);
  return emit(row);
}

async function ours(kernels: KernelBackend): Promise<Row[]> {
  const rows: Row[] = [];
  rows.push(kernelRates(kernels));
  const xtr = idx("train-images-idx3-ubyte.gz").data as Float32Array;
  const ytr = idx("train-labels-idx1-ubyte.gz").data as Int32Array;
  const xte = idx("t10k-images-idx3-ubyte.gz").data as Float32Array;
  const yte = idx("t10k-labels-idx1-ubyte.gz").data as Int32Array;

  // Case 1: 784-256-128-10, ReLU hidden, softmax + cross-entropy (class indices), Adam 1e-3, batch 64;
  // on one thread, and (native or WebAssembly kernels) on two: each batch split by rows, then by
  // parameter ranges, over shared memory (the same bits as one thread).
  const fmnist = async (threads: 1 | 2, runSeed = seed) => {
    const net = createNetwork(
      {
        inputs: 784,
        layers: [
          { units: 256, activation: "relu", initializer },
          { units: 128, activation: "relu", initializer },
          { units: 10, activation: "softmax", initializer },
        ],
      },
      { seed: runSeed, kernels },
    );
    const t0 = performance.now();
    await train(
      net,
      { inputs: xtr, rows: 60000, labels: ytr },
      {
        loss: "sparseCategoricalCrossentropy",
        optimizer: { name: "adam", learningRate: 1e-3 },
        epochs,
        batchSize: 64,
        shuffle: true,
        seed: runSeed,
        threads,
      },
    );
    const secs = (performance.now() - t0) / 1000;
    const test = net.evaluate(
      { inputs: xte, rows: 10000, labels: yte },
      "sparseCategoricalCrossentropy",
    );
    if (runSeed !== seed) return { net, accuracy: test.accuracy ?? 0 };
    rows.push(
      emit({
        case: "fmnist-784-256-128-10-train",
        engine: `nnserve-${net.kernels.backend}${threads === 2 ? "-2-threads" : ""}`,
        epochs,
        seed,
        init,
        samples_per_s: Math.round((epochs * 60000) / secs),
        effective_gflops: +(((epochs * 60000) / secs) * TRAIN_FLOP * 1e-9).toFixed(1),
        seconds: +secs.toFixed(2),
        test_acc: +(test.accuracy ?? 0).toFixed(4),
      }),
    );
    return { net, accuracy: test.accuracy ?? 0 };
  };
  const { net, accuracy } = await fmnist(1);
  const engine = `nnserve-${net.kernels.backend}`;
  if (threadCounts.includes(2) && net.kernels.backend !== "js") await fmnist(2);

  if (accSeeds.length > 0 && kernels === backends[0]) {
    const accs = [accuracy];
    for (const s of accSeeds) accs.push((await fmnist(1, s)).accuracy);
    rows.push(
      emit({
        case: "fmnist-784-256-128-10-accuracy-seeds",
        engine: `nnserve-${net.kernels.backend}`,
        epochs,
        init,
        seeds: [seed, ...accSeeds].join(" "),
        test_acc_mean: +(accs.reduce((a, b) => a + b, 0) / accs.length).toFixed(4),
        test_acc_min: +Math.min(...accs).toFixed(4),
        test_acc_max: +Math.max(...accs).toFixed(4),
        test_accs: accs.map((a) => a.toFixed(4)).join(" "),
      }),
    );
  }
  let t0: number;

  // Inference on the trained model: one row at a time, and batches of 256.
  const row = (i: number) => xte.subarray(i * 784, (i + 1) * 784);
  for (let i = 0; i < 200; i++) net.predict(row(i), 1);
  const k = 5000;
  t0 = performance.now();
  for (let i = 0; i < k; i++) net.predict(row(i), 1);
  const lat = (performance.now() - t0) / k;
  t0 = performance.now();
  for (let r = 0; r < 5; r++) {
    for (let i = 0; i < 10000; i += 256) {
      const n = Math.min(256, 10000 - i);
      net.predict(xte.subarray(i * 784, (i + n) * 784), n);
    }
  }
  const thr = (5 * 10000) / ((performance.now() - t0) / 1000);
  rows.push(
    emit({
      case: "fmnist-predict",
      engine,
      batch1_us: +(lat * 1000).toFixed(1),
      batch256_samples_per_s: Math.round(thr),
      batch256_effective_gflops: +(thr * PREDICT_FLOP * 1e-9).toFixed(1),
    }),
  );

  // Case 2: 8-32-32-1 on 100k rows, target sin(Σ x_i·i), SGD momentum 0.9 lr 0.05, batch 32, 3 epochs.
  const N = 100000;
  const xs = new Float32Array(N * 8);
  const ys = new Float32Array(N);
  let lcg = 1; // the TF.js anchor's LCG; PyTorch draws its own uniforms from the same range
  const rnd = () => {
    lcg = (Math.imul(lcg, 1664525) + 1013904223) >>> 0;
    return lcg / 2 ** 32;
  };
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let j = 0; j < 8; j++) {
      xs[i * 8 + j] = rnd();
      s += xs[i * 8 + j]! * (j + 1);
    }
    ys[i] = Math.sin(s);
  }
  const small = createNetwork(
    {
      inputs: 8,
      layers: [
        { units: 32, activation: "relu" },
        { units: 32, activation: "relu" },
        { units: 1, activation: "linear" },
      ],
    },
    { seed: 0, kernels },
  );
  t0 = performance.now();
  await train(
    small,
    { inputs: xs, rows: N, targets: ys },
    {
      loss: "mse",
      optimizer: { name: "momentum", learningRate: 0.05, momentum: 0.9 },
      epochs: 3,
      batchSize: 32,
      seed: 0,
    },
  );
  const secs = (performance.now() - t0) / 1000;
  const mse = small.evaluate({ inputs: xs, rows: N, targets: ys }, "mse").loss;
  rows.push(
    emit({
      case: "small-8-32-32-1-train",
      engine,
      samples_per_s: Math.round(300000 / secs),
      seconds: +secs.toFixed(2),
      mse: +mse.toFixed(5),
    }),
  );
  return rows;
}

function anchorsDir(): string | undefined {
  const candidates = [
    process.env.ANCHORS_DIR,
    resolve(repo, "../shared/anchors"),
    "/work/shared/anchors",
  ].filter((d): d is string => !!d);
  return candidates.find((d) => existsSync(join(d, "torch_mlp.py")));
}

function runAnchor(
  label: string,
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Row[] {
  process.stderr.write(`bench:engine: running anchor ${label}…\n`);
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    process.stderr.write(
      `bench:engine: anchor ${label} failed (${r.status}): ${r.stderr?.slice(-2000)}\n`,
    );
    return [];
  }
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => emit({ ...(JSON.parse(l) as Row), engine: label }));
}

/**
 * This workplace sets OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for old OpenBLAS builds; they pin
 * PyTorch's BLAS to slower kernels (about 10x here). The anchor is PyTorch at its best, so it
 * runs without them (both unset together, in this command only). And it is one thread:
 * torch.set_num_threads(1) does not reach OpenBLAS's own thread pool, which took the second
 * core for the larger products (1.7 cores busy in training here, batch-256 prediction 15-20 %
 * faster; its figure swung with the other core's load: 54.0k samples/s that way against 67.7k
 * pinned, back to back on 2026-12-04), so the BLAS pools are pinned to one thread too;
 * `anchor-cpu` prints the cores the anchor really kept busy.
 */
function torchEnv(): NodeJS.ProcessEnv {
  const { OPENBLAS_CORETYPE: _core, OPENBLAS_L2_SIZE: _l2, ...env } = process.env;
  // A virtual CPU that hides its model ("Intel(R) Xeon(R) Processor") makes OpenBLAS 0.3.21 pick
  // its Prescott (SSE3) kernels: 24 GFLOP/s on 64×784×256 against 150 with Cooperlake's on the
  // same core (2026-12-06). ANCHOR_OPENBLAS_CORETYPE names the kernels the anchor's best needs.
  const core = process.env.ANCHOR_OPENBLAS_CORETYPE;
  return {
    ...env,
    ...(core ? { OPENBLAS_CORETYPE: core } : {}),
    OPENBLAS_NUM_THREADS: "1",
    OMP_NUM_THREADS: "1",
    MKL_NUM_THREADS: "1",
  };
}

/** Runs a Python script and then prints its CPU time over its wall time (the cores it used). */
const WITH_CORES =
  "import json, os, runpy, sys, time\n" +
  "sys.argv = sys.argv[1:]\n" +
  "t0, c0 = time.perf_counter(), os.times()\n" +
  "runpy.run_path(sys.argv[0], run_name='__main__')\n" +
  "c1, wall = os.times(), time.perf_counter() - t0\n" +
  "cpu = c1.user + c1.system - c0.user - c0.system\n" +
  "print(json.dumps({'case': 'anchor-cpu', 'script': os.path.basename(sys.argv[0]), 'cores_used': round(cpu / wall, 2)}))\n";

/**
 * The BLAS PyTorch actually loads (Debian's torch links the generic libblas.so.3, and the
 * alternatives system picks reference BLAS, OpenBLAS or BLIS): a PyTorch on the reference BLAS
 * is about 10x slower and would make a dishonest anchor, so the bench prints it next to the
 * figures.
 */
function torchBlas(): string {
  const probe = spawnSync(
    "/usr/bin/python3",
    [
      "-c",
      "import torch; torch.ones(64, 64) @ torch.ones(64, 64)\n" +
        "libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower()})\n" +
        "print(' '.join(libs) or 'none')",
    ],
    { encoding: "utf8", env: torchEnv() },
  );
  return probe.status === 0 ? probe.stdout.trim() : `unknown (${probe.stderr.trim().slice(-200)})`;
}

function anchors(): Row[] {
  const dir = anchorsDir();
  if (!dir) {
    process.stderr.write("bench:engine: anchors not found (../shared/anchors); set ANCHORS_DIR\n");
    return [];
  }
  const rows: Row[] = [];
  if (existsSync("/usr/bin/python3")) {
    const blas = torchBlas();
    emit({ case: "anchor-blas", engine: "pytorch-1-thread", blas });
    if (!/openblas|blis|mkl/i.test(blas)) {
      process.stderr.write(
        "bench:engine: PyTorch is not on an optimised BLAS; apt-get install libopenblas0-pthread\n",
      );
    }
    rows.push(
      ...runAnchor(
        "pytorch-1-thread",
        "/usr/bin/python3",
        ["-c", WITH_CORES, join(dir, "torch_mlp.py"), "1"],
        dir,
        torchEnv(),
      ),
    );
    if (accSeeds.length > 0) {
      rows.push(
        ...runAnchor(
          "pytorch-1-thread",
          "/usr/bin/python3",
          [
            "-c",
            WITH_CORES,
            join(here, "torch-accuracy-seeds.py"),
            String(epochs),
            String(seed),
          ].concat(accSeeds.map(String)),
          dir,
          torchEnv(),
        ),
      );
    }
    const busy = rows.filter((r) => r.case === "anchor-cpu" && Number(r.cores_used) > 1.2);
    if (busy.length > 0) {
      process.stderr.write(
        `bench:engine: the PyTorch anchor kept more than one core busy (${busy.map((r) => r.cores_used).join(", ")}): its figures are not one thread's\n`,
      );
    }
  } else {
    process.stderr.write("bench:engine: /usr/bin/python3 missing; apt-get install python3-torch\n");
  }
  const tfjs = "/tmp/tfjs";
  const backends = (process.env.TFJS_BACKENDS ?? "wasm").split(/\s+/).filter(Boolean);
  if (!existsSync(join(tfjs, "node_modules/@tensorflow/tfjs"))) {
    process.stderr.write(
      `bench:engine: TF.js anchor skipped: set up ${tfjs} as ${dir}/README.md says\n`,
    );
    return rows;
  }
  for (const backend of backends) {
    const env = { ...process.env, EPOCHS: process.env.TFJS_EPOCHS ?? "1" };
    rows.push(
      ...runAnchor(
        `tfjs-${backend}`,
        process.execPath,
        [join(dir, "tfjs_mlp.mjs"), backend],
        tfjs,
        env,
      ),
    );
  }
  return rows;
}

/** ours / theirs for throughputs, theirs / ours for latency: > 1 means we are faster. */
function ratios(mine: Row[], theirs: Row[]): void {
  for (const a of theirs) {
    for (const m of mine.filter((r) => r.case === a.case)) ratio(m, a);
  }
}

function ratio(m: Row, a: Row): void {
  const out: Row = { case: a.case as string, engine: m.engine!, ratio_vs: a.engine as string };
  for (const key of ["samples_per_s", "batch256_samples_per_s"]) {
    if (typeof a[key] === "number" && typeof m[key] === "number") {
      out[`${key}_ratio`] = +((m[key] as number) / (a[key] as number)).toFixed(3);
    }
  }
  if (typeof a.batch1_us === "number" && typeof m.batch1_us === "number") {
    out.batch1_speedup = +(a.batch1_us / m.batch1_us).toFixed(3);
  }
  for (const key of ["test_acc", "mse", "test_acc_mean", "test_acc_min", "test_acc_max"]) {
    if (a[key] !== undefined) out[`their_${key}`] = a[key]!;
  }
  emit(out);
}

const mine: Row[] = [];
for (const kernels of backends) mine.push(...(await ours(kernels)));
if (process.env.ANCHORS === "1") ratios(mine, anchors());
