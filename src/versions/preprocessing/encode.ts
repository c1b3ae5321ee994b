/**
 * Raw feature rows -> the network's input rows, by a version's stored preprocessing
 * (src/versions/preprocessing/schema.ts). Prediction (REST and gRPC), evaluation of the test split and
 * the exporters' reference outputs all go through here, so a stored model means one thing.
 */
import { type FieldIssue, formatPath, validationError } from "../../platform/errors.ts";
import type { FeatureTransform, Preprocessing } from "./schema.ts";
import { encodedWidth, smoothClip } from "./schema.ts";

/** A raw cell as a client or a dataset gives it; null and undefined are missing. */
export type RawCell = number | string | boolean | null | undefined;
/** A row keyed by feature name, or positional in the stored feature order. */
export type RawRow = Readonly<Record<string, RawCell>> | readonly RawCell[];

/** Stop collecting after this many: one bad column in 10,000 rows should not build a 10,000-entry reply. */
const MAX_ISSUES = 20;

/** Null, undefined, or a string of white space only (a CSV's empty field, padded or not). */
export function isMissing(cell: RawCell): cell is null | undefined | string {
  return cell === null || cell === undefined || (typeof cell === "string" && cell.trim() === "");
}

/**
 * The number a string holds, as a CSV means it: decimal or exponent notation, finite;
 * undefined otherwise. Number() alone would read "" and "  " as 0 and "0x1f" as 31.
 */
export function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "" || /^[+-]?0[xob]/i.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

function numericValue(
  feature: Extract<FeatureTransform, { type: "numeric" }>,
  cell: RawCell,
): number | string {
  if (isMissing(cell)) {
    if (feature.impute !== undefined) return feature.impute;
    return "is missing, and this feature has no imputation";
  }
  const value =
    typeof cell === "number" ? cell : typeof cell === "string" ? parseNumber(cell) : undefined;
  if (value === undefined || !Number.isFinite(value))
    return `must be a finite number, got ${JSON.stringify(cell)}`;
  return value;
}

function categoryIndex(
  feature: Extract<FeatureTransform, { type: "categorical" }>,
  cell: RawCell,
): number | string {
  let category: string;
  if (isMissing(cell)) {
    if (feature.impute === undefined) return "is missing, and this feature has no imputation";
    category = feature.impute;
  } else category = String(cell);
  const index = feature.categories.indexOf(category);
  if (index >= 0 || feature.unknown === "zeros") return index;
  return `is ${JSON.stringify(category)}, not one of the categories seen in training (${feature.categories
    .map((c) => JSON.stringify(c))
    .join(", ")})`;
}

/**
 * Encodes rows into one packed Float32Array (rows x encodedWidth). Throws VALIDATION_FAILED with
 * a field path per bad cell (`inputs[3].length`, `inputs[3]["mean radius"]`, `inputs[3][0]`), and for a
 * named row with a feature missing entirely or a name the model does not know.
 */
export function encodeRows(
  preprocessing: Preprocessing,
  rows: readonly RawRow[],
  pathPrefix: readonly PropertyKey[] = ["inputs"],
): Float32Array {
  const { features } = preprocessing;
  const width = encodedWidth(features);
  const out = new Float32Array(rows.length * width);
  const issues: FieldIssue[] = [];
  const known = new Set(features.map((f) => f.name));
  const add = (path: string, message: string) => {
    if (issues.length < MAX_ISSUES) issues.push({ path, message });
  };
  for (let r = 0; r < rows.length && issues.length < MAX_ISSUES; r++) {
    const row = rows[r] as RawRow;
    const positional = Array.isArray(row);
    if (positional && row.length !== features.length) {
      add(
        formatPath([...pathPrefix, r]),
        `must have ${features.length} values (${features.map((f) => f.name).join(", ")}), got ${row.length}`,
      );
      continue;
    }
    if (!positional) {
      for (const name of Object.keys(row))
        if (!known.has(name))
          add(
            formatPath([...pathPrefix, r, name]),
            `is not a feature of this model (features: ${[...known].join(", ")})`,
          );
    }
    let column = r * width;
    for (let f = 0; f < features.length; f++) {
      const feature = features[f] as FeatureTransform;
      const cell = positional
        ? (row as readonly RawCell[])[f]
        : (row as Readonly<Record<string, RawCell>>)[feature.name];
      const path = positional
        ? formatPath([...pathPrefix, r, f])
        : formatPath([...pathPrefix, r, feature.name]);
      if (feature.type === "numeric") {
        const value = numericValue(feature, cell);
        if (typeof value === "string") add(path, value);
        else {
          const z = (value - feature.center) / feature.scale;
          out[column] = feature.clip === undefined ? z : smoothClip(z, feature.clip);
        }
        column += 1;
      } else {
        const index = categoryIndex(feature, cell);
        if (typeof index === "string") add(path, index);
        else if (index >= 0) out[column + index] = 1;
        column += feature.categories.length;
      }
    }
  }
  if (issues.length > 0)
    throw validationError(issues, `Invalid input rows: ${issues[0]?.path} ${issues[0]?.message}.`);
  return out;
}
