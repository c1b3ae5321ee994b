/**
 * The preprocessing stored on a model version trained from a dataset: how raw feature values
 * become the network's input row, and how its outputs become labels or values in the target's
 * units. Fitted on the training split only, stored once, applied at predict time, exported with
 * the model (portable file, ONNX metadata and graph).
 *
 * The network's input row is the features in this order: a numeric feature is one column,
 * `(x - center) / scale`; a categorical feature is `categories.length` columns, one-hot in the
 * order of `categories`. Keeping one affine form for every numeric scaling is what lets an
 * exporter write each as one Sub and one Div (then, with `clip`, the smooth clip in double
 * precision: smoothClip below, the same operations in the same order).
 */
import { z } from "zod";

/**
 * standard: center = mean, scale = standard deviation; minmax: center = min, scale = max - min;
 * robust: center = median, scale = interquartile range (q75 - q25, linear interpolation; the
 * standard deviation when that is 0); none: center 0, scale 1. A constant column has scale 1,
 * so it encodes as 0, never NaN.
 */
export const NUMERIC_SCALINGS = ["standard", "minmax", "robust", "none"] as const;
export type NumericScaling = (typeof NUMERIC_SCALINGS)[number];

/** What a categorical feature does with a category not seen in training. */
export const UNKNOWN_CATEGORY_POLICIES = ["error", "zeros"] as const;
export type UnknownCategoryPolicy = (typeof UNKNOWN_CATEGORY_POLICIES)[number];

const finite = z.number().refine(Number.isFinite, "must be a finite number");
const positive = finite.refine((v) => v > 0, "must be positive");

export const numericFeatureSchema = z.object({
  name: z.string().min(1),
  type: z.literal("numeric"),
  scaling: z.enum(NUMERIC_SCALINGS),
  center: finite,
  scale: positive,
  /** The value a missing cell takes (the training mean); absent: a missing cell is an error. */
  impute: finite.optional(),
  /**
   * Smooth clipping after scaling: z / sqrt(1 + (z / clip)²) (RealMLP's), so outliers land
   * near ±clip instead of far out; absent: none.
   */
  clip: positive.optional(),
});
export type NumericFeature = z.output<typeof numericFeatureSchema>;

export const categoricalFeatureSchema = z.object({
  name: z.string().min(1),
  type: z.literal("categorical"),
  categories: z.array(z.string()).min(1),
  unknown: z.enum(UNKNOWN_CATEGORY_POLICIES),
  /** The category a missing cell takes (the most frequent); absent: a missing cell is an error. */
  impute: z.string().optional(),
});
export type CategoricalFeature = z.output<typeof categoricalFeatureSchema>;

export const featureTransformSchema = z.discriminatedUnion("type", [
  numericFeatureSchema,
  categoricalFeatureSchema,
]);
export type FeatureTransform = z.output<typeof featureTransformSchema>;

/** A classifier's output unit i is the probability of classes[i]. */
export const categoricalTargetSchema = z.object({
  name: z.string().min(1),
  type: z.literal("categorical"),
  classes: z.array(z.string()).min(2),
});

/** A regressor's output is `center + scale * y` in the target's units. */
export const numericTargetSchema = z.object({
  name: z.string().min(1),
  type: z.literal("numeric"),
  center: finite,
  scale: positive,
});

export const targetTransformSchema = z.discriminatedUnion("type", [
  categoricalTargetSchema,
  numericTargetSchema,
]);
export type TargetTransform = z.output<typeof targetTransformSchema>;

/**
 * What the training rows looked like, per feature: the baseline of explanations (mean, mode)
 * and the reference of drift (quantile bins, category shares). Fitted with the preprocessing
 * on the training split; absent on versions fitted before it was stored.
 */
export const featureStatisticsSchema = z.discriminatedUnion("type", [
  z.object({
    name: z.string(),
    type: z.literal("numeric"),
    count: z.int(),
    mean: finite,
    /** The 10%, 20%, … 90% quantiles: the edges of ten bins with a tenth of the rows each. */
    quantiles: z.array(finite),
    /** The share of the training rows in each bin the quantiles make (ties can unbalance it). */
    shares: z.array(finite),
  }),
  z.object({
    name: z.string(),
    type: z.literal("categorical"),
    count: z.int(),
    /** The most frequent category (the first in sorted order on a tie). */
    mode: z.string(),
    /** Each category's share of the training rows, in the order of the feature's categories. */
    shares: z.array(finite),
  }),
]);
export type FeatureStatistics = z.output<typeof featureStatisticsSchema>;

export const preprocessingSchema = z
  .object({
    formatVersion: z.literal(1),
    features: z.array(featureTransformSchema).min(1),
    target: targetTransformSchema,
    /** One entry per feature, in the features' order. */
    statistics: z.array(featureStatisticsSchema).optional(),
  })
  .meta({ id: "Preprocessing" });
export type Preprocessing = z.output<typeof preprocessingSchema>;

/** How many input columns the features encode to: the network's `inputs`. */
export function encodedWidth(features: readonly FeatureTransform[]): number {
  let width = 0;
  for (const feature of features)
    width += feature.type === "numeric" ? 1 : feature.categories.length;
  return width;
}

/**
 * z / sqrt(1 + z·z·k) with k = 1/clip²: the smooth clip as encodeRows and the ONNX graph both
 * compute it (double precision, this order), so the two agree exactly.
 */
export function smoothClip(z: number, clip: number): number {
  return z / Math.sqrt(1 + z * z * clipFactor(clip));
}

export function clipFactor(clip: number): number {
  return 1 / (clip * clip);
}
