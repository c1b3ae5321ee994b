/**
 * docker/compose.yaml and docker/Dockerfile, read as data: no Docker engine runs here, so these
 * check the promises the deployment makes (pinned Postgres with a volume and a healthcheck,
 * replicas that wait for it, a non-root image with a readiness healthcheck).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseDockerfile } from "../../scripts/image-recipe.ts";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

interface Service {
  image?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  init?: boolean;
}

describe("docker/compose.yaml", () => {
  const compose = parse(read("docker/compose.yaml")) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };
  const { postgres, nnserve, proxy } = compose.services;

  it("runs Postgres of a pinned major version on a named volume, with a healthcheck", () => {
    expect(postgres!.image).toMatch(/^postgres:\d+/);
    const volume = postgres!.volumes![0]!.split(":")[0]!;
    expect(Object.keys(compose.volumes)).toContain(volume);
    expect(postgres!.healthcheck!.test.join(" ")).toContain("pg_isready");
  });

  it("starts two or more nnserve replicas once the database is healthy, under an init", () => {
    expect(nnserve!.deploy!.replicas).toBeGreaterThanOrEqual(2);
    expect(nnserve!.depends_on!.postgres!.condition).toBe("service_healthy");
    expect(nnserve!.environment!.NODE_ENV).toBe("production");
    expect(nnserve!.environment!.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect(nnserve!.init).toBe(true);
  });

  it("sets only variables the README documents", () => {
    const readme = read("README.md");
    for (const name of Object.keys(nnserve!.environment!)) {
      expect(readme, name).toContain(`\`${name}\``);
    }
  });

  it("publishes REST and gRPC through the proxy in front of the replicas", () => {
    expect(proxy!.ports!.map((port) => port.split(":").at(-1))).toEqual(["3000", "50051"]);
    expect(read("docker/nginx.conf")).toMatch(
      /server nnserve:3000 resolve;[\s\S]*server nnserve:50051 resolve;/,
    );
  });
});

describe("docker/Dockerfile", () => {
  const stages = parseDockerfile(read("docker/Dockerfile"));
  const runtime = stages.at(-1)!;

  it("builds on node:24 (a C++ compiler for the native kernels), runs on node:24-slim as a non-root user", () => {
    expect(stages.map((s) => s.image)).toEqual(["node:24", "node:24-slim"]);
    expect(runtime.instructions).toContainEqual({ kind: "USER", user: "node" });
  });

  it("copies the native kernels' sources before npm ci and their build into the slim stage", () => {
    const build = stages[0]!.instructions;
    const copies = (i: (typeof build)[number]) => i.kind === "COPY" && i.sources.includes("native");
    const npmCi = build.findIndex((i) => i.kind === "RUN" && /npm ci/.test(JSON.stringify(i)));
    expect(build.findIndex(copies)).toBeGreaterThan(-1);
    expect(build.findIndex(copies)).toBeLessThan(npmCi);
    expect(runtime.instructions).toContainEqual({
      kind: "COPY",
      from: "build",
      sources: ["/app/native"],
      dest: "./native",
    });
  });

  it("checks readiness, not only liveness, in its HEALTHCHECK", () => {
    const check = runtime.instructions.find((i) => i.kind === "HEALTHCHECK");
    expect(JSON.stringify(check)).toContain("/readyz");
  });
});
