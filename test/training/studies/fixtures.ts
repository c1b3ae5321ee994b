/** What the study tests share: a parsed study request over Iris, with test-sized limits. */
import {
  createStudyRequestSchema,
  type StudyRequest,
  type StudyRequestInput,
} from "../../../src/training/studies/schemas.ts";

export const LIMITS = {
  maxEpochs: 10_000,
  maxLayers: 32,
  maxUnits: 4_096,
  maxParameters: 1_000_000,
  maxRows: 100_000,
  maxPredictRows: 10_000,
};

export const studySchema = createStudyRequestSchema(LIMITS);

/** A small ASHA study on Iris: 9 trials, rungs 1, 3, 9 epochs, two segments at once. */
export function irisStudy(
  dataset: string,
  overrides: Partial<StudyRequestInput> = {},
): StudyRequest {
  return studySchema.parse({
    name: "iris-search",
    model: "iris-study",
    dataset,
    target: "species",
    objective: { metric: "valLoss" },
    space: {
      layers: { choice: [[8], [16, 8]] },
      learningRate: { logUniform: [1e-3, 3e-2] },
      dropout: { uniform: [0, 0.2] },
      batchSize: { choice: [16, 32] },
    },
    budget: { trials: 9, maxEpochs: 9, minEpochs: 1, reductionFactor: 3, maxConcurrent: 2 },
    seed: 7,
    ...overrides,
  });
}
