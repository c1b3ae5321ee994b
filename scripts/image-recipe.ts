/**
 * The Docker image's recipe, replayed without Docker (`npm run image:recipe`, and
 * test/production/image-recipe.test.ts). It reads docker/Dockerfile and does what a build and a
 * `docker run` would, in a temporary folder:
 *
 *   1. the build context: the repository's files (git ls-files) filtered by .dockerignore;
 *   2. each stage in order: COPY from the context or an earlier stage, RUN (npm commands only:
 *      that rule is what makes this replay faithful), ENV;
 *   3. the last stage's CMD with its ENV against Postgres (DATABASE_URL), then its HEALTHCHECK,
 *      an API key made with the image's own `npm run keys`, one train -> poll -> predict over
 *      REST (and over gRPC when the image has a gRPC server), and SIGTERM: exit code 0.
 *
 * What it cannot show: the base image's own files (node:24-slim is Node 24 + npm, as is the
 * PATH here), the file ownership USER gives, and Docker's networking.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

// ---------------------------------------------------------------------------------------------
// Reading the Dockerfile

export type Instruction =
  | { kind: "WORKDIR"; path: string }
  | { kind: "ENV"; vars: Record<string, string> }
  | { kind: "COPY"; from?: string; sources: string[]; dest: string }
  | { kind: "RUN"; command: string }
  | { kind: "USER"; user: string }
  | { kind: "EXPOSE"; ports: number[] }
  | { kind: "HEALTHCHECK"; command: string[] }
  | { kind: "CMD"; command: string[] };

export interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

/** Logical lines: comments dropped, backslash continuations joined. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (current === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1).trim()} `;
      continue;
    }
    lines.push((current + line).trim());
    current = "";
  }
  if (current.trim() !== "") lines.push(current.trim());
  return lines;
}

function execForm(rest: string, where: string): string[] {
  const parsed: unknown = JSON.parse(rest);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === "string")) {
    throw new Error(`${where}: only the exec form (a JSON array of strings) is supported`);
  }
  return parsed;
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const [keyword = "", ...parts] = line.split(/\s+/);
    const rest = line.slice(keyword.length).trim();
    const instruction = keyword.toUpperCase();
    if (instruction === "FROM") {
      const match = /^(\S+)\s+AS\s+(\S+)$/i.exec(rest);
      if (!match) throw new Error(`FROM ${rest}: every stage needs a name (FROM image AS name)`);
      stages.push({ image: match[1]!, name: match[2]!, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${instruction} before the first FROM`);
    const add = (i: Instruction) => stage.instructions.push(i);
    switch (instruction) {
      case "WORKDIR":
        add({ kind: "WORKDIR", path: rest });
        break;
      case "ENV": {
        const vars: Record<string, string> = {};
        for (const pair of parts) {
          const eq = pair.indexOf("=");
          if (eq <= 0) throw new Error(`ENV ${rest}: use the KEY=value form`);
          vars[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        add({ kind: "ENV", vars });
        break;
      }
      case "COPY": {
        const flags = parts.filter((p) => p.startsWith("--"));
        const paths = parts.filter((p) => !p.startsWith("--"));
        const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
        const unknown = flags.filter((f) => !f.startsWith("--from=") && !f.startsWith("--chown="));
        if (unknown.length > 0 || paths.length < 2) throw new Error(`COPY ${rest}: unsupported`);
        add({
          kind: "COPY",
          ...(from ? { from } : {}),
          sources: paths.slice(0, -1),
          dest: paths.at(-1)!,
        });
        break;
      }
      case "RUN":
        // The rule that keeps this replay honest: a stage only runs npm (scripts or commands).
        if (!/^npm\s/.test(rest)) throw new Error(`RUN ${rest}: stages may only run npm commands`);
        add({ kind: "RUN", command: rest });
        break;
      case "USER":
        add({ kind: "USER", user: rest });
        break;
      case "EXPOSE":
        add({ kind: "EXPOSE", ports: parts.map(Number) });
        break;
      case "HEALTHCHECK": {
        const cmd = rest.indexOf("CMD ");
        if (cmd < 0) throw new Error("HEALTHCHECK needs CMD [...]");
        add({ kind: "HEALTHCHECK", command: execForm(rest.slice(cmd + 4), "HEALTHCHECK") });
        break;
      }
      case "CMD":
        add({ kind: "CMD", command: execForm(rest, "CMD") });
        break;
      default:
        throw new Error(`${instruction}: not an instruction scripts/image-recipe.ts replays`);
    }
  }
  return stages;
}

// ---------------------------------------------------------------------------------------------
// .dockerignore

function globToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      out += ".*";
      i++;
      if (pattern[i + 1] === "/") i++;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

/** Docker's rule: the last pattern matching a path or one of its parent folders decides. */
export function dockerignoreFilter(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negate = line.startsWith("!");
      const pattern = posix.normalize((negate ? line.slice(1) : line).replace(/^\/+/, ""));
      return { negate, regex: globToRegExp(pattern) };
    });
  return (path) => {
    const segments = path.split("/");
    const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join("/"));
    let included = true;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.regex.test(prefix))) included = rule.negate;
    }
    return included;
  };
}

/**
 * COPY sources (from the build context, not an earlier stage) that the context does not hold:
 * a .dockerignore rule, or a missing file, that would break `docker build`.
 */
export function copySourcesMissing(stages: Stage[], context: readonly string[]): string[] {
  const missing: string[] = [];
  for (const stage of stages) {
    for (const instruction of stage.instructions) {
      if (instruction.kind !== "COPY" || instruction.from) continue;
      for (const source of instruction.sources) {
        const path = posix.normalize(source).replace(/^\.\/|\/$/g, "");
        const present = context.some((file) => file === path || file.startsWith(`${path}/`));
        if (!present) missing.push(source);
      }
    }
  }
  return missing;
}

/** The build context as Docker would send it: the working tree's files, less .dockerignore. */
export function contextFiles(root = repoRoot): string[] {
  const listed = execFileSync(
    "git",
    ["ls-files", "--cached", "--others", "--exclude-standard", "-z"],
    { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  )
    .split("\0")
    .filter((path) => path !== "" && existsSync(join(root, path)));
  const ignore = existsSync(join(root, ".dockerignore"))
    ? readFileSync(join(root, ".dockerignore"), "utf8")
    : "";
  const keep = dockerignoreFilter(ignore);
  return listed.filter(keep);
}

// ---------------------------------------------------------------------------------------------
// Replaying the stages

export interface RecipeOptions {
  databaseUrl: string;
  /** Where the stages are laid out; default a new temporary folder, removed afterwards. */
  workDir?: string;
  keep?: boolean;
  log?: (message: string) => void;
}

export interface RecipeResult {
  workDir: string;
  /** Seconds per step, in order. */
  timings: [string, number][];
  /** Size of the runtime stage's node_modules, in MiB. */
  runtimeNodeModulesMiB: number;
  /** Build tools (Prisma CLI, TypeScript, ...) found in the runtime stage: none, we expect. */
  runtimeBuildTools: string[];
  grpc: boolean;
}

/**
 * The environment of a RUN or the CMD: this machine's (PATH, certificates, proxies), less what a
 * parent npm, vitest or the developer's shell would leak into a build (NODE_ENV, npm_*, ...).
 */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (
      /^(npm_|VITEST|NODE_ENV$|NODE_OPTIONS$|INIT_CWD$|DATABASE_URL$|TEST_|PORT$|HOST$)/.test(key)
    ) {
      continue;
    }
    env[key] = value;
  }
  return env;
}

function copy(from: string, to: string, isDest: { multiple: boolean }) {
  const toDir = to.endsWith("/") || isDest.multiple;
  if (statSync(from).isDirectory()) {
    cpSync(from, to, { recursive: true });
  } else {
    const target = toDir ? join(to, posix.basename(from)) : to;
    mkdirSync(dirname(target), { recursive: true });
    cpSync(from, target);
  }
}

function run(command: string, cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += String(chunk);
    });
    child.stderr.on("data", (chunk) => {
      output += String(chunk);
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`RUN ${command} failed (${code ?? signal}):\n${output.slice(-4000)}`));
    });
  });
}

export async function runImageRecipe(options: RecipeOptions): Promise<RecipeResult> {
  const log = options.log ?? (() => {});
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), "nnserve-image-"));
  const timings: [string, number][] = [];
  const timed = async <T>(step: string, fn: () => Promise<T> | T): Promise<T> => {
    const started = performance.now();
    log(`${step} ...`);
    const value = await fn();
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    timings.push([step, seconds]);
    log(`${step}: ${seconds} s`);
    return value;
  };
  let server: ChildProcess | undefined;
  try {
    const stages = parseDockerfile(readFileSync(join(repoRoot, "docker/Dockerfile"), "utf8"));
    const context = join(workDir, "context");
    await timed("build context (.dockerignore)", () => {
      for (const file of contextFiles()) {
        mkdirSync(dirname(join(context, file)), { recursive: true });
        cpSync(join(repoRoot, file), join(context, file));
      }
    });

    const roots = new Map<string, { dir: string; workdir: string }>();
    const envs = new Map<string, Record<string, string>>();
    for (const stage of stages) {
      const dir = join(workDir, stage.name);
      mkdirSync(dir, { recursive: true });
      let workdir = "/";
      const env: Record<string, string> = {};
      roots.set(stage.name, { dir, workdir });
      envs.set(stage.name, env);
      // Paths inside a stage live under its folder: /app -> <workDir>/<stage>/app.
      const inStage = (root: { dir: string; workdir: string }, path: string) =>
        join(root.dir, path.startsWith("/") ? path : posix.join(root.workdir, path));
      for (const instruction of stage.instructions) {
        const here = roots.get(stage.name)!;
        switch (instruction.kind) {
          case "WORKDIR":
            workdir = instruction.path;
            here.workdir = workdir;
            mkdirSync(inStage(here, "."), { recursive: true });
            break;
          case "ENV":
            Object.assign(env, instruction.vars);
            break;
          case "COPY": {
            const source = instruction.from ? roots.get(instruction.from) : undefined;
            if (instruction.from && !source) throw new Error(`COPY --from=${instruction.from}`);
            const dest = inStage(here, instruction.dest);
            const multiple = instruction.sources.length > 1;
            for (const path of instruction.sources) {
              const from = source ? inStage(source, path) : join(context, path);
              if (!existsSync(from)) {
                throw new Error(`COPY ${path}: not in the ${source ? "stage" : "build context"}`);
              }
              copy(from, dest + (instruction.dest.endsWith("/") ? "/" : ""), { multiple });
            }
            break;
          }
          case "RUN":
            await timed(`${stage.name}: RUN ${instruction.command}`, () =>
              run(instruction.command, inStage(here, "."), { ...baseEnv(), ...env }),
            );
            break;
          default:
            break;
        }
      }
    }

    const runtime = stages.at(-1)!;
    const root = roots.get(runtime.name)!;
    const appDir = join(root.dir, root.workdir);
    const cmd = runtime.instructions.find((i) => i.kind === "CMD");
    const healthcheck = runtime.instructions.find((i) => i.kind === "HEALTHCHECK");
    if (cmd?.kind !== "CMD") throw new Error("the last stage has no CMD");
    const grpc = existsSync(join(appDir, "src/transport/grpc"));
    const [port, grpcPort] = [await freePort(), await freePort()];
    const env = {
      ...baseEnv(),
      ...envs.get(runtime.name),
      HOST: "127.0.0.1",
      GRPC_HOST: "127.0.0.1",
      PORT: String(port),
      GRPC_PORT: String(grpcPort),
      DATABASE_URL: options.databaseUrl,
      WORKERS: "1",
    };

    const started = await timed("runtime: CMD until ready", () => start(cmd.command, appDir, env));
    server = started.child;
    const base = `http://127.0.0.1:${port}`;

    if (healthcheck && healthcheck.kind === "HEALTHCHECK") {
      await timed("runtime: HEALTHCHECK", () =>
        run(healthcheck.command.map(shellQuote).join(" "), appDir, env),
      );
    }

    const headers: Record<string, string> = { "content-type": "application/json" };
    const scripts = JSON.parse(readFileSync(join(appDir, "package.json"), "utf8")).scripts ?? {};
    if (scripts.keys) {
      // NODE_ENV=production: API keys are required, so the image must refuse a keyless call.
      const keyless = await fetch(`${base}/models`);
      if (keyless.status !== 401) throw new Error(`GET /models without a key: ${keyless.status}`);
      const key = await timed("runtime: npm run keys -- create", () =>
        createKey(appDir, env, ["train", "predict"]),
      );
      headers.authorization = `Bearer ${key}`;
    }

    await timed("runtime: train -> poll -> predict over REST", async () => {
      const submitted = await fetch(`${base}/train`, {
        method: "POST",
        headers,
        body: JSON.stringify(XOR_REQUEST),
      });
      if (submitted.status !== 202) {
        throw new Error(`POST /train: ${submitted.status} ${await submitted.text()}`);
      }
      const { jobId } = (await submitted.json()) as { jobId: string };
      for (let tries = 0; ; tries++) {
        const job = (await (await fetch(`${base}/jobs/${jobId}`, { headers })).json()) as {
          status: string;
        };
        if (job.status === "succeeded") break;
        if (job.status === "failed" || job.status === "cancelled" || tries > 600) {
          throw new Error(`job ${jobId}: ${JSON.stringify(job)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const predicted = await fetch(`${base}/predict`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: XOR_REQUEST.model, inputs: [[0, 1]] }),
      });
      const body = (await predicted.json()) as { outputs?: number[][] };
      if (predicted.status !== 200 || !body.outputs || body.outputs[0]![0]! < 0.5) {
        throw new Error(`POST /predict: ${predicted.status} ${JSON.stringify(body)}`);
      }
    });

    if (grpc) {
      await timed("runtime: predict over gRPC", () =>
        grpcPredict(appDir, `127.0.0.1:${grpcPort}`, headers.authorization),
      );
    }

    await timed("runtime: SIGTERM until exit", async () => {
      const child = server!;
      child.kill("SIGTERM");
      const exit = await started.exited;
      server = undefined;
      if (exit.code !== 0) {
        throw new Error(`exit after SIGTERM: ${JSON.stringify(exit)}\n${started.output()}`);
      }
    });

    const runtimeNodeModulesMiB = Math.round(
      Number(
        execFileSync("du", ["-sm", join(appDir, "node_modules")], { encoding: "utf8" }).split(
          "\t",
        )[0],
      ),
    );
    const buildOnly = ["prisma", "typescript", "vitest", "@biomejs/biome", "assemblyscript"];
    const runtimeBuildTools = buildOnly.filter((name) =>
      existsSync(join(appDir, "node_modules", name, "package.json")),
    );
    return { workDir, timings, runtimeNodeModulesMiB, runtimeBuildTools, grpc };
  } finally {
    server?.kill("SIGKILL");
    if (!options.keep && !options.workDir) rmSync(workDir, { recursive: true, force: true });
  }
}

const XOR_REQUEST = {
  model: "image-recipe-xor",
  network: {
    inputs: 2,
    layers: [
      { units: 8, activation: "tanh" },
      { units: 1, activation: "sigmoid" },
    ],
  },
  loss: "binaryCrossentropy",
  optimizer: { name: "adam", learningRate: 0.05 },
  training: { epochs: 300, batchSize: 4, seed: 1 },
  data: {
    inputs: [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ],
    targets: [[0], [1], [1], [0]],
  },
};

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function start(command: string[], cwd: string, env: Record<string, string>) {
  return new Promise<{
    child: ChildProcess;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    output: () => string;
  }>((resolve, reject) => {
    const [file, ...args] = command;
    const child = spawn(file!, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once("exit", (code, signal) => done({ code, signal })),
    );
    child.stderr!.on("data", (chunk) => {
      output += String(chunk);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`not ready within 60 s:\n${output}`));
    }, 60_000);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited before it was ready (${code ?? signal}):\n${output}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output += `${line}\n`;
      if (line.includes('"msg":"nnserve is ready"')) {
        clearTimeout(timer);
        resolve({ child, exited, output: () => output });
      }
    });
  });
}

/** `npm run keys -- create --scope ...` in the runtime stage; the key is the output's last line. */
async function createKey(cwd: string, env: Record<string, string>, scopes: string[]) {
  const args = ["run", "--silent", "keys", "--", "create", "--name", "image-recipe"];
  for (const scope of scopes) args.push("--scope", scope);
  const stdout = execFileSync("npm", args, { cwd, env, encoding: "utf8" });
  const key = stdout
    .trim()
    .split("\n")
    .map((line) => line.trim())
    .find((line) => /^nns_[A-Za-z0-9_-]+$/.test(line));
  if (!key) throw new Error(`npm run keys printed no key:\n${stdout}`);
  return key;
}

/** One Predict call with the runtime stage's own @grpc/grpc-js and proto files. */
async function grpcPredict(appDir: string, address: string, authorization?: string) {
  const script = join(appDir, "..", "grpc-predict.mjs");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(
    script,
    `import grpc from ${JSON.stringify(join(appDir, "node_modules/@grpc/grpc-js/build/src/index.js"))};
import loader from ${JSON.stringify(join(appDir, "node_modules/@grpc/proto-loader/build/src/index.js"))};
const def = loader.loadSync("nnserve/v1/prediction.proto", { includeDirs: [${JSON.stringify(join(appDir, "proto"))}], longs: String, enums: String, defaults: true, oneofs: true });
const pkg = grpc.loadPackageDefinition(def);
const client = new pkg.nnserve.v1.Prediction(${JSON.stringify(address)}, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
${authorization ? `metadata.set("authorization", ${JSON.stringify(authorization)});` : ""}
client.predict({ model: ${JSON.stringify(XOR_REQUEST.model)}, inputs: { width: 2, values: [0, 1] } }, metadata, (err, res) => {
  if (err) { console.error(err.code, err.details); process.exit(1); }
  const value = res.outputs && res.outputs.values && res.outputs.values[0];
  if (!(value > 0.5)) { console.error("unexpected answer", JSON.stringify(res)); process.exit(1); }
  process.exit(0);
});
`,
  );
  await run(`node ${shellQuote(script)}`, appDir, { ...baseEnv() });
}

// `npm run image:recipe`: DATABASE_URL must name a database it may use (tables are created).
if (import.meta.url === `file://${process.argv[1]}`) {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error("image:recipe: set DATABASE_URL to a Postgres database it may migrate and use");
    process.exit(2);
  }
  const started = performance.now();
  runImageRecipe({
    databaseUrl,
    keep: process.env.KEEP === "1",
    log: (message) => console.log(message),
  }).then(
    (result) => {
      console.log(
        `image recipe ok in ${Math.round((performance.now() - started) / 1000)} s; runtime node_modules ${result.runtimeNodeModulesMiB} MiB; gRPC ${result.grpc ? "checked" : "not present"}; ${relative(process.cwd(), result.workDir) || result.workDir}`,
      );
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
