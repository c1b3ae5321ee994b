/**
 * The request schemas whose rules depend on configured limits, built once per process (or per
 * test app) and shared by the REST routes and the gRPC handlers.
 */
import type { RequestLimits } from "../platform/validation/common.ts";
import { createPredictRequestSchema } from "../prediction/request.ts";
import { createTrainRequestSchema } from "../training/request.ts";
import { createStudyRequestSchema } from "../training/studies/schemas.ts";

export function createRequestSchemas(limits: RequestLimits) {
  return {
    trainRequest: createTrainRequestSchema(limits),
    predictRequest: createPredictRequestSchema(limits),
    studyRequest: createStudyRequestSchema(limits),
    /** For transports that check packed rows themselves and skip the schema when they pass. */
    limits: { maxPredictRows: limits.maxPredictRows, maxUnits: limits.maxUnits },
  };
}

export type RequestSchemas = ReturnType<typeof createRequestSchemas>;
