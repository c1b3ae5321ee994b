/**
 * The layout's promise, checked on every run (docs/architecture.md, "The dependency rule"): no
 * import cycle between files of src/, and no import from a lower layer to a higher one. The
 * checker is tested first on small made-up graphs, so a green run means something.
 */
import { describe, expect, it } from "vitest";
import {
  buildImportGraph,
  findCycles,
  findViolations,
  type ImportGraph,
  LAYER_RULES,
  REPOSITORY,
  type Violation,
} from "./import-graph.ts";

/** Generated code (protobuf types, the Prisma client) is written by tools, not by us. */
const generated = (file: string) => file.startsWith("src/generated/");

/**
 * Known violations with an owner, each to be removed by the change that fixes it. The test also
 * fails when one of them is gone, so the list cannot outlive the problem.
 */
const PENDING: readonly (Omit<Violation, "rule"> & { owner: string })[] = [
  // The prediction service's contract (PredictionService, TensorPrediction) and the predict
  // schemas move out of transport/ with the prediction path's untangling.
  ...[["src/prediction/inference.ts", "src/transport/request-schemas.ts"]].map(
    ([file, imports]) => ({ file: file!, imports: imports!, owner: "issue 20" }),
  ),
];

function graphOf(edges: Record<string, string[]>, external: Record<string, string[]> = {}) {
  const graph: ImportGraph = { files: new Map() };
  for (const [file, local] of Object.entries(edges)) {
    graph.files.set(file, { local, external: external[file] ?? [] });
  }
  return graph;
}

describe("the checker, on made-up graphs", () => {
  it("finds a cycle of three files, a self-import, and none in a tree", () => {
    const graph = graphOf({
      "src/a.ts": ["src/b.ts"],
      "src/b.ts": ["src/c.ts"],
      "src/c.ts": ["src/a.ts", "src/d.ts"],
      "src/d.ts": [],
      "src/e.ts": ["src/e.ts"],
    });
    expect(findCycles(graph)).toEqual(
      expect.arrayContaining([["src/a.ts", "src/b.ts", "src/c.ts"], ["src/e.ts"]]),
    );
    expect(findCycles(graph)).toHaveLength(2);
    expect(findCycles(graphOf({ "src/a.ts": ["src/b.ts"], "src/b.ts": [] }))).toEqual([]);
    expect(findCycles(graph, (f) => f === "src/b.ts" || f === "src/e.ts")).toEqual([]);
  });

  it("flags each upward import and engine import of a package", () => {
    const graph = graphOf(
      {
        "src/engine/a.ts": ["src/engine/b.ts", "src/platform/logger.ts"],
        "src/engine/b.ts": [],
        "src/platform/threads/pool.ts": ["src/engine/b.ts"],
        "src/platform/logger.ts": ["src/training/service.ts"],
        "src/platform/config.ts": ["src/engine/b.ts"],
        "src/versions/views.ts": ["src/training/jobs/schemas.ts", "src/platform/logger.ts"],
        "src/training/service.ts": ["src/versions/views.ts", "src/transport/services.ts"],
        "src/prediction/service.ts": ["src/app.ts"],
        "src/cli/keys.ts": ["src/app.ts"],
        "src/main.ts": ["src/app.ts"],
        "src/transport/http/app.ts": ["src/training/service.ts"],
      },
      { "src/engine/a.ts": ["node:fs", "zod"] },
    );
    const found = findViolations(graph, LAYER_RULES).map((v) => `${v.file} -> ${v.imports}`);
    expect(found.sort()).toEqual(
      [
        "src/engine/a.ts -> src/platform/logger.ts",
        "src/engine/a.ts -> zod",
        "src/platform/logger.ts -> src/training/service.ts",
        "src/platform/config.ts -> src/engine/b.ts",
        "src/versions/views.ts -> src/training/jobs/schemas.ts",
        "src/training/service.ts -> src/transport/services.ts",
        "src/prediction/service.ts -> src/app.ts",
      ].sort(),
    );
  });
});

describe("src/", () => {
  const graph = buildImportGraph(REPOSITORY);

  it("is read whole: every feature folder and the composition root are in the graph", () => {
    const files = [...graph.files.keys()];
    for (const dir of ["engine", "platform", "versions", "datasets", "training", "prediction"]) {
      expect(
        files.some((f) => f.startsWith(`src/${dir}/`)),
        dir,
      ).toBe(true);
    }
    expect(graph.files.get("src/main.ts")?.local).toContain("src/app.ts");
    // Every relative import names a file that exists (else the graph would miss edges); the
    // dashboard's chart library is served from node_modules at /ui/vendor/ (routes/ui.ts).
    const missing = [...graph.files].flatMap(([file, { local }]) =>
      local
        .filter((to) => !graph.files.has(to) && !to.startsWith("src/ui/vendor/"))
        .map((to) => `${file} -> ${to}`),
    );
    expect(missing).toEqual([]);
  });

  it("has no import cycle between files", () => {
    expect(findCycles(graph, generated)).toEqual([]);
  });

  it("imports only downwards: transport -> features -> versions -> engine and platform", () => {
    const found = findViolations(graph, LAYER_RULES);
    const pending = (v: Violation) =>
      PENDING.some((p) => p.file === v.file && p.imports === v.imports);
    expect(found.filter((v) => !pending(v))).toEqual([]);
    // A fixed violation leaves the list with its fix.
    const stale = PENDING.filter(
      (p) => !found.some((v) => v.file === p.file && v.imports === p.imports),
    );
    expect(stale).toEqual([]);
  });
});
