/** Traffic on the wire: the canary split and shadow a client sets, and what GET traffic shows. */
import { z } from "zod";
import { isoDateTime, modelVersion, strictObject } from "../../platform/validation/common.ts";
import { reason } from "../../versions/aliases/schemas.ts";

const MAX_SPLIT = 10;

export const setTrafficBodySchema = strictObject({
  split: z
    .array(
      strictObject({
        version: modelVersion,
        weight: z
          .int("must be a whole number 1-100")
          .min(1, "must be 1-100")
          .max(100, "must be 1-100"),
      }),
    )
    .min(1, "needs at least one version")
    .max(MAX_SPLIT, `may name at most ${MAX_SPLIT} versions`),
  /** Gets a copy of each routed request after the answer; never answers. */
  shadow: strictObject({ version: modelVersion }).optional(),
  /** "routingKey": a request's routingKey (or X-Routing-Key) always reaches the same version. */
  stickyBy: z.enum(["routingKey"]).optional(),
  reason,
}).superRefine((body, ctx) => {
  const sum = body.split.reduce((total, entry) => total + entry.weight, 0);
  if (sum !== 100) {
    ctx.addIssue({
      code: "custom",
      path: ["split"],
      message: `weights sum to ${sum}; they must sum to 100`,
    });
  }
  const seen = new Set<number>();
  body.split.forEach((entry, i) => {
    if (seen.has(entry.version)) {
      ctx.addIssue({
        code: "custom",
        path: ["split", i, "version"],
        message: "appears twice in the split",
      });
    }
    seen.add(entry.version);
  });
  if (body.shadow && seen.has(body.shadow.version)) {
    ctx.addIssue({
      code: "custom",
      path: ["shadow", "version"],
      message: "is in the split; a shadow is compared with the versions that answer",
    });
  }
});
export type SetTrafficBody = z.output<typeof setTrafficBodySchema>;

export const clearTrafficQuerySchema = strictObject({ reason });

const versionFiguresSchema = z.object({
  version: z.int(),
  requests: z.int(),
  errors: z.int(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});

const shadowFiguresSchema = z.object({
  version: z.int(),
  requests: z.int(),
  errors: z.int(),
  skipped: z.int(),
  rowsCompared: z.int(),
  /** Classifiers: share of rows where the shadow's class equals the answer's. */
  labelAgreement: z.number().nullable(),
  /** Regressors: mean absolute difference of the outputs. */
  meanAbsoluteDifference: z.number().nullable(),
});

export const trafficViewSchema = z
  .object({
    /** Empty when no split is set: requests follow the alias production, else the newest. */
    split: z.array(versionFiguresSchema.extend({ weight: z.int() })),
    shadow: shadowFiguresSchema.nullable(),
    stickyBy: z.enum(["routingKey"]).nullable(),
    updatedAt: isoDateTime.nullable(),
    updatedBy: z.string().nullable(),
    /** Every version that answered through this replica, split or not (figures are per replica). */
    served: z.array(versionFiguresSchema),
  })
  .meta({ id: "Traffic" });
export type TrafficView = z.output<typeof trafficViewSchema>;
