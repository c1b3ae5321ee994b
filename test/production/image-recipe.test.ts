/**
 * The Docker image without Docker: docker/Dockerfile replayed by scripts/image-recipe.ts in a
 * temporary folder (npm ci, type check, prune to production dependencies), its CMD started
 * against Postgres (NODE_ENV=production: a keyless call must get 401), an API key made with the
 * image's `npm run keys`, then train -> predict over REST and gRPC and a SIGTERM that must exit 0.
 * Takes about a minute (mostly `npm ci` from the npm cache).
 */

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  contextFiles,
  copySourcesMissing,
  dockerignoreFilter,
  parseDockerfile,
  runImageRecipe,
} from "../../scripts/image-recipe.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

describe("the image recipe", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(() => db?.close());

  it("builds, starts, trains, predicts and stops on SIGTERM as the Dockerfile says", async () => {
    const steps: string[] = [];
    const result = await runImageRecipe({
      databaseUrl: db.url,
      log: (message) => steps.push(message),
    });
    const names = result.timings.map(([step]) => step);
    expect(names).toEqual(
      expect.arrayContaining([
        "build: RUN npm ci --no-audit --no-fund",
        "build: RUN npm run typecheck:src",
        "build: RUN npm prune --omit=dev --no-audit --no-fund",
        "build: RUN npm uninstall --no-save --omit=dev --no-audit --no-fund prisma typescript",
        "runtime: CMD until ready",
        "runtime: HEALTHCHECK",
        "runtime: npm run keys -- create",
        "runtime: train -> poll -> predict over REST",
        "runtime: predict over gRPC",
        "runtime: SIGTERM until exit",
      ]),
    );
    expect(result.grpc).toBe(true);
    // The runtime stage carries production dependencies only (443 MiB before the uninstall).
    expect(result.runtimeBuildTools).toEqual([]);
    expect(result.runtimeNodeModulesMiB).toBeLessThan(300);
  }, 600_000);
});

describe("reading the Dockerfile", () => {
  it("refuses a RUN that is not an npm command, since the replay could not reproduce it", () => {
    expect(() =>
      parseDockerfile("FROM node:24-slim AS build\nRUN apt-get install -y tini\n"),
    ).toThrow(/only run npm commands/);
  });

  it("joins continued lines and reads exec-form commands", () => {
    const [stage] = parseDockerfile(
      'FROM node:24-slim AS runtime\nHEALTHCHECK --interval=5s \\\n  CMD ["node", "-e", "1"]\nCMD ["node", "src/main.ts"]\n',
    );
    expect(stage!.instructions).toEqual([
      { kind: "HEALTHCHECK", command: ["node", "-e", "1"] },
      { kind: "CMD", command: ["node", "src/main.ts"] },
    ]);
  });
});

describe(".dockerignore", () => {
  it("lets through what the build needs and nothing generated or local", () => {
    const keep = dockerignoreFilter("*\n!src\n!package.json\nsrc/generated\n**/*.log\n");
    expect(keep("package.json")).toBe(true);
    expect(keep("src/app.ts")).toBe(true);
    expect(keep("src/generated/prisma/client.ts")).toBe(false);
    expect(keep("src/a.log")).toBe(false);
    expect(keep("node_modules/pg/index.js")).toBe(false);
    expect(keep(".env")).toBe(false);
    expect(keep("test/platform/config.test.ts")).toBe(false);
  });
});

describe("the Dockerfile against the .dockerignore", () => {
  const root = new URL("../..", import.meta.url).pathname;
  const stages = parseDockerfile(readFileSync(`${root}docker/Dockerfile`, "utf8"));

  it("copies nothing the build context leaves out", () => {
    expect(copySourcesMissing(stages, contextFiles(root))).toEqual([]);
  });

  it("would catch a COPY of something the .dockerignore excludes", () => {
    const keep = dockerignoreFilter(`${readFileSync(`${root}.dockerignore`, "utf8")}\nproto\n`);
    const context = contextFiles(root).filter((path) => keep(path));
    expect(copySourcesMissing(stages, context)).toEqual(["proto"]);
  });

  it("keeps out dependencies, the embedded database, git and test output", () => {
    const keep = dockerignoreFilter(readFileSync(`${root}.dockerignore`, "utf8"));
    for (const path of [
      "node_modules/pg/package.json",
      ".data/postgres/PG_VERSION",
      ".git/HEAD",
      ".ci/test-results.json",
      "coverage/index.html",
      "test-artifacts/job-page.png",
      "src/generated/prisma/client.ts",
      ".env",
    ]) {
      expect(keep(path), path).toBe(false);
    }
  });
});
