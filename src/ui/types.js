// The API's shapes as the dashboard reads them: the zod schemas' output types, imported for
// JSDoc only (the browser never loads the .ts files), so `npm run typecheck` holds the pages to
// what the server actually sends.

/** @typedef {import("../versions/schemas.ts").Model} Model */
/** @typedef {import("../versions/schemas.ts").ModelVersion} ModelVersion */
/** @typedef {import("../versions/schemas.ts").ModelSummary} ModelSummary */
/** @typedef {import("../versions/evaluation-schema.ts").Evaluation} Evaluation */
/** @typedef {import("../versions/preprocessing/schema.ts").Preprocessing} Preprocessing */
/** @typedef {import("../versions/preprocessing/schema.ts").FeatureTransform} FeatureTransform */
/** @typedef {import("../training/jobs/schemas.ts").Job} Job */
/** @typedef {import("../training/jobs/schemas.ts").EpochMetrics} EpochMetrics */
/** @typedef {EpochMetrics & { epoch: number }} Epoch */
/** @typedef {import("../datasets/schemas.ts").Dataset} Dataset */
/** @typedef {import("../datasets/schemas.ts").DatasetSummary} DatasetSummary */
/** @typedef {import("../datasets/schemas.ts").DatasetColumnView} DatasetColumn */
/** @typedef {import("../prediction/request.ts").PredictResponse} PredictResponse */
/** @typedef {import("../versions/aliases/schemas.ts").AliasView} AliasView */
/** @typedef {import("../versions/aliases/schemas.ts").ModelEventView} ModelEvent */
/** @typedef {import("../versions/aliases/schemas.ts").HistoryPage} HistoryPage */
/** @typedef {import("../prediction/traffic/schemas.ts").TrafficView} TrafficView */
/** @typedef {import("../prediction/batch/schemas.ts").BatchPrediction} BatchPrediction */
/** @typedef {import("../prediction/drift/service.ts").DriftReport} DriftReport */
/** @typedef {import("../prediction/feedback/schemas.ts").Performance} Performance */
/** @typedef {import("../training/studies/schemas.ts").Study} Study */
/** @typedef {import("../training/studies/schemas.ts").StudySummary} StudySummary */
/** @typedef {import("../training/studies/schemas.ts").StudyPage} StudyPage */
/** @typedef {import("../training/studies/schemas.ts").Trial} Trial */
/** @typedef {import("../training/studies/schemas.ts").TrialParams} TrialParams */
/** @typedef {import("../training/studies/schemas.ts").StudyCurves} StudyCurves */
/** @typedef {import("../training/studies/schemas.ts").StudyEvent} StudyEvent */
/** @typedef {import("../training/studies/schemas.ts").StudyRequestInput} StudyRequest */
/** @typedef {import("../training/studies/schemas.ts").ObjectiveMetric} ObjectiveMetric */

export {};
