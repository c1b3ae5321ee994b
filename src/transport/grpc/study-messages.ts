/**
 * nnserve.v1 study messages <-> the plain objects of src/training/studies/schemas.ts. A
 * CreateStudyRequest becomes exactly the JSON body of POST /studies (unset fields left out), so
 * the same zod schema parses it and reports the same paths; the views become messages, null
 * numbers as unset optional fields. Nothing here decides whether a value is valid.
 */
import type { CreateStudyRequest__Output } from "../../generated/grpc/nnserve/v1/CreateStudyRequest.ts";
import type {
  NumberParameter,
  NumberParameter__Output,
} from "../../generated/grpc/nnserve/v1/NumberParameter.ts";
import type {
  SearchSpace__Output,
  SearchSpace as SearchSpaceMessage,
} from "../../generated/grpc/nnserve/v1/SearchSpace.ts";
import type { Study as StudyMessage } from "../../generated/grpc/nnserve/v1/Study.ts";
import type { StudyCurves as StudyCurvesMessage } from "../../generated/grpc/nnserve/v1/StudyCurves.ts";
import type { StudyEvent as StudyEventMessage } from "../../generated/grpc/nnserve/v1/StudyEvent.ts";
import type { Trial as TrialMessage } from "../../generated/grpc/nnserve/v1/Trial.ts";
import type {
  SearchSpace,
  Study,
  StudyCurves,
  StudyEvent,
  StudySummary,
  Trial,
} from "../../training/studies/schemas.ts";
import { preprocessingFromMessage, present, timestamp } from "./convert.ts";

const RANGES = ["uniform", "logUniform", "int"] as const;
type NumberSpaceKey = "learningRate" | "dropout" | "batchSize" | "weightDecay" | "labelSmoothing";
const NUMBER_PARAMETERS: readonly NumberSpaceKey[] = [
  "learningRate",
  "dropout",
  "batchSize",
  "weightDecay",
  "labelSmoothing",
];

/** A set parameter with no range is a choice, so an empty one is refused as in REST. */
function numberParameterFromMessage(p: NumberParameter__Output) {
  const ranges: Record<string, [number, number]> = {};
  for (const kind of RANGES) {
    const range = p[kind];
    if (range) ranges[kind] = [range.low, range.high];
  }
  const isChoice = p.choice.length > 0 || Object.keys(ranges).length === 0;
  return { ...(isChoice ? { choice: p.choice } : {}), ...ranges };
}

export function spaceFromMessage(space: SearchSpace__Output): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (space.layers) out.layers = { choice: space.layers.choice.map((l) => l.units) };
  if (space.activation) out.activation = { choice: space.activation.choice };
  if (space.optimizer) out.optimizer = { choice: space.optimizer.choice };
  for (const key of NUMBER_PARAMETERS) {
    const parameter = space[key];
    if (parameter) out[key] = numberParameterFromMessage(parameter);
  }
  return out;
}

/** A CreateStudyRequest as the JSON body of POST /studies. */
export function studyRequestFromMessage(req: CreateStudyRequest__Output): Record<string, unknown> {
  const { objective, budget } = req;
  return {
    ...(req.name !== "" && { name: req.name }),
    model: req.model,
    dataset: req.dataset,
    target: req.target,
    ...(req.features.length > 0 && { features: req.features }),
    ...(req.preprocessing && { preprocessing: preprocessingFromMessage(req.preprocessing) }),
    objective: objective
      ? {
          metric: objective.metric,
          ...(objective.direction !== "" && { direction: objective.direction }),
        }
      : undefined,
    space: req.space ? spaceFromMessage(req.space) : undefined,
    budget: budget
      ? {
          trials: budget.trials,
          maxEpochs: budget.maxEpochs,
          ...present(budget, ["minEpochs", "reductionFactor", "maxConcurrent"]),
        }
      : undefined,
    ...(req.scheduler !== "" && { scheduler: req.scheduler }),
    ...present(req, ["seed", "validationSplit", "testSplit"]),
    ...(req.promoteAlias !== "" && { promote: { alias: req.promoteAlias } }),
    ...(req.keep !== "" && { keep: req.keep }),
  };
}

type NumberDistribution = {
  choice?: number[];
  uniform?: [number, number];
  logUniform?: [number, number];
  int?: [number, number];
};

function numberParameterToMessage(d: NumberDistribution): NumberParameter {
  const range = (pair: [number, number] | undefined) =>
    pair ? { low: pair[0], high: pair[1] } : null;
  return {
    choice: d.choice ?? [],
    uniform: range(d.uniform),
    logUniform: range(d.logUniform),
    int: range(d.int),
  };
}

/** The study's space as the request gave it (the view keeps it as stored JSON). */
export function spaceToMessage(stored: Record<string, unknown>): SearchSpaceMessage {
  const space = stored as SearchSpace;
  const names = (d: { choice?: string[] } | undefined) => (d ? { choice: d.choice ?? [] } : null);
  const out: SearchSpaceMessage = {
    layers: space.layers
      ? { choice: (space.layers.choice ?? []).map((units) => ({ units })) }
      : null,
    activation: names(space.activation),
    optimizer: names(space.optimizer),
  };
  for (const key of NUMBER_PARAMETERS) {
    const d = space[key];
    out[key] = d ? numberParameterToMessage(d) : null;
  }
  return out;
}

const orUnset = <T>(value: T | null | undefined): T | undefined => value ?? undefined;

function trialToMessage(trial: Trial): TrialMessage {
  const { params } = trial;
  return {
    trial: trial.trial,
    params: {
      ...params,
      layers: params.layers ?? [],
      activation: params.activation ?? "",
      optimizer: params.optimizer ?? "",
    },
    status: trial.status,
    epochs: trial.epochs,
    metric: orUnset(trial.metric),
    version: orUnset(trial.version),
    job: trial.job ?? "",
    rungs: trial.rungs.map((r) => ({
      rung: r.rung,
      epochs: r.epochs,
      metric: orUnset(r.metric),
      version: orUnset(r.version),
    })),
    error: trial.error ?? "",
  };
}

/** A study (GetStudy, CreateStudy, CancelStudy) or a list entry (ListStudies) as a message. */
export function studyToMessage(study: Study | StudySummary): StudyMessage {
  const { best } = study;
  return {
    id: study.id,
    name: study.name ?? "",
    model: study.model,
    dataset: study.dataset ?? "",
    target: study.target,
    status: study.status,
    objective: study.objective,
    scheduler: study.scheduler,
    seed: study.seed,
    budget: study.budget,
    rungs: study.rungs,
    keep: study.keep,
    promoteAlias: study.promote?.alias ?? "",
    best: best ? { ...best, version: orUnset(best.version) } : null,
    epochsSpent: study.epochsSpent,
    epochsIfExhaustive: study.epochsIfExhaustive,
    error: study.error ?? "",
    createdAt: timestamp(study.createdAt),
    finishedAt: timestamp(study.finishedAt),
    ...("trials" in study
      ? { trials: study.trials.map(trialToMessage), space: spaceToMessage(study.space) }
      : { trialCounts: study.trialCounts }),
  };
}

export function curvesToMessage(curves: StudyCurves): StudyCurvesMessage {
  return {
    trials: curves.trials.map((t) => ({
      trial: t.trial,
      status: t.status,
      points: t.points.map(({ epoch, ...metrics }) => ({
        epoch,
        metrics: {
          loss: orUnset(metrics.loss),
          accuracy: orUnset(metrics.accuracy),
          valLoss: orUnset(metrics.valLoss),
          valAccuracy: orUnset(metrics.valAccuracy),
          mae: orUnset(metrics.mae),
          valMae: orUnset(metrics.valMae),
        },
      })),
    })),
  };
}

export function eventToMessage(event: StudyEvent): StudyEventMessage {
  return {
    id: String(event.id),
    type: event.type,
    trial: orUnset(event.trial),
    rung: orUnset(event.rung),
    epochs: orUnset(event.epochs),
    metric: orUnset(event.metric),
    version: orUnset(event.version),
    status: event.status ?? "",
    at: timestamp(event.at),
  };
}
