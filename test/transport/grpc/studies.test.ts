/**
 * nnserve.v1.Studies on a whole server (in process, real Postgres, the real StudyService): a
 * study created, read, watched to study.finished and resumed after an event; the bad inputs of
 * issue 22 as INVALID_ARGUMENT with REST's paths and messages, nothing stored; NOT_FOUND and
 * FAILED_PRECONDITION as REST's 404 and 409.
 */
import { credentials } from "@grpc/grpc-js";
import descriptor from "protobufjs/ext/descriptor/index.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Dataset } from "../../../src/datasets/schemas.ts";
import type { CreateStudyRequest } from "../../../src/generated/grpc/nnserve/v1/CreateStudyRequest.ts";
import type { ListStudiesResponse__Output } from "../../../src/generated/grpc/nnserve/v1/ListStudiesResponse.ts";
import type { Study__Output } from "../../../src/generated/grpc/nnserve/v1/Study.ts";
import type { StudyCurves__Output } from "../../../src/generated/grpc/nnserve/v1/StudyCurves.ts";
import type { StudyEvent__Output } from "../../../src/generated/grpc/nnserve/v1/StudyEvent.ts";
import type { Problem } from "../../../src/platform/validation/problem.ts";
import type { Study } from "../../../src/training/studies/schemas.ts";
import { loadProtos } from "../../../src/transport/grpc/protos.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { uploadCsv } from "../../helpers/datasets.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { studyCsv, tinyStudy } from "../../helpers/studies.ts";
import {
  failure,
  fieldIssues,
  readAll,
  reflect,
  reflectionClient,
  status,
  unary,
} from "./helpers.ts";

const PER_KEY_JOBS = 3;

let db: TestDatabase;
let server: TestServer;
// biome-ignore lint/suspicious/noExplicitAny: the generated client's constructor type
let studies: any;
let dataset: Dataset;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    env: { STUDY_TICK_MS: "100", MAX_QUEUED_JOBS_PER_KEY: String(PER_KEY_JOBS) },
  });
  const { grpc } = loadProtos();
  studies = new grpc.nnserve.v1.Studies(server.grpcAddress, credentials.createInsecure());
  dataset = await uploadCsv(server.url, "grpc-study-table", studyCsv());
});

afterAll(async () => {
  studies?.close();
  await server?.close();
  await db?.close();
});

/** tinyStudy (test/helpers/studies.ts) as a CreateStudyRequest, with its typed space. */
function tinyMessage(datasetId: string, patch: Partial<CreateStudyRequest> = {}) {
  return {
    name: "tiny",
    model: "grpc-study",
    dataset: datasetId,
    target: "cls",
    features: ["x1", "x2"],
    objective: { metric: "valLoss" },
    space: {
      layers: { choice: [{ units: [4] }, { units: [8] }] },
      learningRate: { logUniform: { low: 0.001, high: 0.1 } },
    },
    budget: { trials: 4, maxEpochs: 4, minEpochs: 1, reductionFactor: 2, maxConcurrent: 2 },
    seed: 7,
    ...patch,
  } satisfies CreateStudyRequest;
}

const create = (request: CreateStudyRequest) =>
  unary<Study__Output>((cb) => studies.CreateStudy(request, cb));

describe("nnserve.v1.Studies", () => {
  let created: Study__Output;
  let all: StudyEvent__Output[];

  it("creates a study as POST /studies does (the same study for the same request)", async () => {
    created = await create(tinyMessage(dataset.id));
    expect(created).toMatchObject({
      status: "running",
      model: "grpc-study",
      scheduler: "asha",
      seed: 7,
      rungs: [1, 2, 4],
      objective: { metric: "valLoss", direction: "minimize" },
      budget: { trials: 4, maxEpochs: 4, minEpochs: 1, reductionFactor: 2, maxConcurrent: 2 },
      epochsIfExhaustive: 16,
      space: {
        layers: { choice: [{ units: [4] }, { units: [8] }] },
        learningRate: { logUniform: { low: 0.001, high: 0.1 }, choice: [] },
      },
    });
    // The same seed and space over REST sample the same trials.
    const rest = await server.http.post<Study>(
      "/studies",
      tinyStudy(dataset.id, { model: "grpc-study-rest" }),
    );
    expect(rest.status).toBe(202);
    expect(created.trials.map((t) => t.params?.layers)).toEqual(
      rest.body.trials.map((t) => t.params.layers),
    );
    expect(created.trials.map((t) => t.params?.learningRate)).toEqual(
      rest.body.trials.map((t) => t.params.learningRate),
    );
  });

  it("watches the study to study.finished, and resumes after an event", async () => {
    all = await readAll<StudyEvent__Output>(studies.WatchStudy({ id: created.id }));
    expect(all[0]!.type).toBe("trial.started");
    expect(all.at(-1)).toMatchObject({ type: "study.finished", status: "succeeded" });
    const ids = all.map((e) => Number(e.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);

    const middle = all[Math.floor(all.length / 2)]!;
    const resumed = await readAll<StudyEvent__Output>(
      studies.WatchStudy({ id: created.id, afterId: middle.id }),
    );
    expect(resumed).toEqual(all.filter((e) => Number(e.id) > Number(middle.id)));
    // Nothing after the last event of an ended study: the stream ends at once, OK.
    expect(await readAll(studies.WatchStudy({ id: created.id, afterId: all.at(-1)!.id }))).toEqual(
      [],
    );
  });

  it("gets the finished study, its curves and the list, as REST has them", async () => {
    const done = await unary<Study__Output>((cb) => studies.GetStudy({ id: created.id }, cb));
    const rest = (await server.http.get<Study>(`/studies/${created.id}`)).body;
    expect(done.status).toBe("succeeded");
    expect(done.best).toMatchObject({ trial: rest.best!.trial, metric: rest.best!.metric });
    expect(done.epochsSpent).toBe(rest.epochsSpent);
    expect(done.trials.map((t) => [t.trial, t.status, t.epochs])).toEqual(
      rest.trials.map((t) => [t.trial, t.status, t.epochs]),
    );
    const rungs = all.filter((e) => e.type === "rung.reached");
    expect(rungs.length).toBe(rest.trials.reduce((n, t) => n + t.rungs.length, 0));

    const curves = await unary<StudyCurves__Output>((cb) =>
      studies.GetStudyCurves({ id: created.id }, cb),
    );
    for (const trial of done.trials) {
      const curve = curves.trials.find((c) => c.trial === trial.trial)!;
      expect(curve.points).toHaveLength(trial.epochs);
      expect(curve.points.every((p) => Number.isFinite(p.metrics?.valLoss))).toBe(true);
    }

    const page = await unary<ListStudiesResponse__Output>((cb) =>
      studies.ListStudies({ model: "grpc-study" }, cb),
    );
    expect(page.items.map((s) => s.id)).toEqual([created.id]);
    expect(page.items[0]!.trials).toEqual([]);
    expect(Object.values(page.items[0]!.trialCounts).reduce((a, b) => a + b, 0)).toBe(4);
  });

  it("answers NOT_FOUND, FAILED_PRECONDITION and INVALID_ARGUMENT as REST answers 404, 409, 400", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    const missing = await failure(unary((cb) => studies.GetStudy({ id: unknown }, cb)));
    expect(missing.code).toBe(status.NOT_FOUND);
    const watchMissing = await failure(readAll(studies.WatchStudy({ id: unknown })));
    expect(watchMissing.code).toBe(status.NOT_FOUND);
    const ended = await failure(unary((cb) => studies.CancelStudy({ id: created.id }, cb)));
    expect(ended.code).toBe(status.FAILED_PRECONDITION);
    const badId = await failure(unary((cb) => studies.GetStudy({ id: "nope" }, cb)));
    expect(badId.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldIssues(badId.metadata).map((i) => i.path)).toEqual(["id"]);
  });
});

describe("WatchStudy and CancelStudy on a running study", () => {
  it("stops watching when the client cancels, and cancels the study", async () => {
    const long = await create(
      tinyMessage(dataset.id, {
        model: "grpc-long-study",
        budget: {
          trials: 4,
          maxEpochs: 4000,
          minEpochs: 2000,
          reductionFactor: 2,
          maxConcurrent: 1,
        },
      }),
    );
    const call = studies.WatchStudy({ id: long.id });
    const ended = readAll<StudyEvent__Output>(call, () => call.cancel());
    expect((await failure(ended)).code).toBe(status.CANCELLED);
    await vi.waitFor(() => expect(server.grpc.activeWatches()).toBe(0));

    const cancelled = await unary<Study__Output>((cb) => studies.CancelStudy({ id: long.id }, cb));
    expect(cancelled.status).toBe("cancelled");
    const events = await readAll<StudyEvent__Output>(studies.WatchStudy({ id: long.id }));
    expect(events.at(-1)).toMatchObject({ type: "study.finished", status: "cancelled" });
    expect(server.grpc.activeWatches()).toBe(0);
  });
});

describe("bad input over gRPC", () => {
  const refusals = () => [
    {
      what: "an empty choice (a set LayersParameter with no choice)",
      grpc: tinyMessage(dataset.id, { space: { layers: {} } }),
      rest: { ...tinyStudy(dataset.id), space: { layers: { choice: [] } } },
      path: "space.layers.choice",
    },
    {
      what: "uniform with low > high",
      grpc: tinyMessage(dataset.id, { space: { dropout: { uniform: { low: 0.4, high: 0.1 } } } }),
      rest: { ...tinyStudy(dataset.id), space: { dropout: { uniform: [0.4, 0.1] } } },
      path: "space.dropout.uniform",
    },
    {
      what: "minEpochs > maxEpochs",
      grpc: tinyMessage(dataset.id, {
        budget: { trials: 3, maxEpochs: 2, minEpochs: 5, reductionFactor: 2 },
      }),
      rest: {
        ...tinyStudy(dataset.id),
        budget: { trials: 3, maxEpochs: 2, minEpochs: 5, reductionFactor: 2 },
      },
      path: "budget.minEpochs",
    },
    {
      what: "valAccuracy on a regressor",
      grpc: tinyMessage(dataset.id, { target: "val", objective: { metric: "valAccuracy" } }),
      rest: tinyStudy(dataset.id, { target: "val", objective: { metric: "valAccuracy" } }),
      path: "objective.metric",
    },
    {
      what: "maxConcurrent above the per-key job limit",
      grpc: tinyMessage(dataset.id, {
        budget: { trials: 3, maxEpochs: 4, maxConcurrent: PER_KEY_JOBS + 1 },
      }),
      rest: {
        ...tinyStudy(dataset.id),
        budget: { trials: 3, maxEpochs: 4, maxConcurrent: PER_KEY_JOBS + 1 },
      },
      path: "budget.maxConcurrent",
    },
  ];

  it("refuses each as INVALID_ARGUMENT with REST's path and message, and stores nothing", async () => {
    const before = await unary<ListStudiesResponse__Output>((cb) => studies.ListStudies({}, cb));
    for (const { what, grpc, rest, path } of refusals()) {
      const error = await failure(create(grpc));
      expect(error.code, what).toBe(status.INVALID_ARGUMENT);
      const issues = fieldIssues(error.metadata);
      expect(
        issues.map((i) => i.path),
        what,
      ).toContain(path);

      const problem = await server.http.post<Problem>("/studies", rest);
      expect(problem.status, what).toBe(400);
      expect(issues, what).toEqual(problem.body.errors);
      for (const issue of issues)
        expect(error.details).toContain(`${issue.path}: ${issue.message}`);
    }
    const after = await unary<ListStudiesResponse__Output>((cb) => studies.ListStudies({}, cb));
    expect(after.items.map((s) => s.id)).toEqual(before.items.map((s) => s.id));
  });

  it("refuses an after_id that is not an event id", async () => {
    const error = await failure(
      readAll(studies.WatchStudy({ id: "00000000-0000-4000-8000-000000000000", afterId: "-1" })),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
  });
});

describe("reflection", () => {
  it("describes nnserve.v1.Studies from its own file, with the files it imports", async () => {
    const client = reflectionClient(server.grpcAddress);
    try {
      const listed = await reflect(client, { list_services: "" });
      const names = listed.list_services_response.service.map((s: { name: string }) => s.name);
      expect(names).toContain("nnserve.v1.Studies");
      const answer = await reflect(client, { file_containing_symbol: "nnserve.v1.Studies" });
      const files = answer.file_descriptor_response.file_descriptor_proto.map((bytes: Uint8Array) =>
        descriptor.FileDescriptorProto.decode(bytes),
      );
      const studiesFile = files.find(
        (f: { name: string }) => f.name === "nnserve/v1/studies.proto",
      );
      expect(studiesFile.dependency).toEqual(
        expect.arrayContaining(["nnserve/v1/training.proto", "nnserve/v1/metrics.proto"]),
      );
      expect(studiesFile.service[0].method.map((m: { name: string }) => m.name)).toEqual([
        "CreateStudy",
        "GetStudy",
        "ListStudies",
        "CancelStudy",
        "GetStudyCurves",
        "WatchStudy",
      ]);
    } finally {
      client.close();
    }
  });
});
