/**
 * The import graph of src/ and the two checks the layout promises (docs/architecture.md): no
 * cycle between files, and no import from a lower layer to a higher one. TypeScript's own
 * pre-processor finds the specifiers (static, type-only, re-exports and dynamic `import()`), so
 * no dependency is added; a relative specifier resolves to the file it names.
 */
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, posix, relative, sep } from "node:path";
import ts from "typescript";

/** File (path relative to the repository, "src/…") -> the files and packages it imports. */
export interface ImportGraph {
  files: Map<string, { local: string[]; external: string[] }>;
}

const SOURCE = /\.(ts|js|mjs)$/;

export function buildImportGraph(root: string, dir = "src"): ImportGraph {
  const files = new Map<string, { local: string[]; external: string[] }>();
  for (const file of walk(join(root, dir))) {
    const path = toPosix(relative(root, file));
    const text = readFileSync(file, "utf8");
    const { importedFiles } = ts.preProcessFile(text, true, true);
    const local: string[] = [];
    const external: string[] = [];
    for (const { fileName } of importedFiles) {
      if (fileName.startsWith("."))
        local.push(posix.normalize(posix.join(posix.dirname(path), fileName)));
      else external.push(fileName);
    }
    files.set(path, { local, external });
  }
  return { files };
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (SOURCE.test(entry.name) && !entry.name.endsWith(".d.ts")) yield path;
  }
}

const toPosix = (path: string) => path.split(sep).join("/");

/**
 * Every strongly connected component of more than one file (or a file importing itself): each
 * is at least one cycle. Tarjan's algorithm, iterative so a deep graph cannot overflow.
 */
export function findCycles(
  graph: ImportGraph,
  ignore: (file: string) => boolean = () => false,
): string[][] {
  const nodes = [...graph.files.keys()].filter((f) => !ignore(f));
  const edges = (f: string) =>
    (graph.files.get(f)?.local ?? []).filter((to) => graph.files.has(to) && !ignore(to));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; children: string[]; i: number }[] = [];
    const visit = (node: string) => {
      index.set(node, next);
      low.set(node, next);
      next++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, children: edges(node), i: 0 });
    };
    visit(start);
    while (work.length > 0) {
      const frame = work.at(-1)!;
      if (frame.i < frame.children.length) {
        const child = frame.children[frame.i++]!;
        if (!index.has(child)) visit(child);
        else if (onStack.has(child))
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = component.length === 1 && edges(frame.node).includes(frame.node);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }
  return components;
}

/** One layer rule: files under `from` may not import files under any of `forbidden`. */
export interface LayerRule {
  name: string;
  from: (file: string) => boolean;
  forbidden: (target: string) => boolean;
  /** Imports of packages (not relative files) the rule refuses. */
  forbiddenExternal?: (specifier: string) => boolean;
}

export interface Violation {
  rule: string;
  file: string;
  imports: string;
}

/** Each forbidden import once, under the first rule that refuses it. */
export function findViolations(graph: ImportGraph, rules: readonly LayerRule[]): Violation[] {
  const violations = new Map<string, Violation>();
  const add = (rule: LayerRule, file: string, imports: string) => {
    const key = `${file} -> ${imports}`;
    if (!violations.has(key)) violations.set(key, { rule: rule.name, file, imports });
  };
  for (const [file, { local, external }] of graph.files) {
    for (const rule of rules) {
      if (!rule.from(file)) continue;
      for (const target of local) if (rule.forbidden(target)) add(rule, file, target);
      for (const specifier of external) {
        if (rule.forbiddenExternal?.(specifier)) add(rule, file, specifier);
      }
    }
  }
  return [...violations.values()];
}

const under =
  (...dirs: string[]) =>
  (file: string) =>
    dirs.some((d) => (d.endsWith(".ts") ? file === d : file.startsWith(`${d}/`)));

const isBuiltin = (specifier: string) =>
  specifier.startsWith("node:") || builtinModules.includes(specifier.split("/")[0]!);

const FEATURES = ["src/versions", "src/datasets", "src/training", "src/prediction", "src/auth"];
const TOP = ["src/transport", "src/ui", "src/cluster", "src/cli", "src/app.ts", "src/main.ts"];

/**
 * The dependency rule: transport -> features -> versions -> engine and platform; nothing
 * points back up, and only the entry points reach the composition root.
 */
export const LAYER_RULES: readonly LayerRule[] = [
  {
    name: "the engine imports nothing outside src/engine but node builtins",
    from: under("src/engine"),
    forbidden: (target) => !target.startsWith("src/engine/"),
    forbiddenExternal: (specifier) => !isBuiltin(specifier),
  },
  {
    name: "platform imports no feature, transport or entry point (platform/threads may use the engine)",
    from: under("src/platform"),
    forbidden: under(...FEATURES, ...TOP),
  },
  {
    name: "platform outside platform/threads does not import the engine",
    from: (file) => file.startsWith("src/platform/") && !file.startsWith("src/platform/threads/"),
    forbidden: under("src/engine"),
  },
  {
    name: "versions imports no training, prediction, datasets or transport",
    from: under("src/versions"),
    forbidden: under("src/training", "src/prediction", "src/datasets", ...TOP),
  },
  {
    name: "datasets, training and prediction import no transport",
    from: under("src/datasets", "src/training", "src/prediction"),
    forbidden: under(...TOP),
  },
  {
    name: "only src/app.ts, src/main.ts, src/cluster and src/cli import the composition root",
    from: (file) => !under("src/app.ts", "src/main.ts", "src/cluster", "src/cli")(file),
    forbidden: (target) => target === "src/app.ts",
  },
];

/** The directory of this repository, from this file's place in it. */
export const REPOSITORY = dirname(dirname(dirname(new URL(import.meta.url).pathname)));
