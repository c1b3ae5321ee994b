/**
 * Live accuracy: feedback joins the truth to a logged prediction by its predictionId, and a
 * version's performance is its accuracy (classifiers) or mean absolute error (regressors) over
 * the logged predictions of a window that have feedback.
 */
import type pg from "pg";
import { AppError, type FieldIssue, notFound, validationError } from "../../platform/errors.ts";
import type { TargetTransform } from "../../versions/preprocessing/schema.ts";
import { parseWindow } from "../drift/window.ts";
import { lookupVersion } from "../tabular/version-lookup.ts";
import type { PredictionLog } from "./log.ts";
import type { FeedbackItem, FeedbackRequest, Performance } from "./schemas.ts";

export interface FeedbackService {
  /**
   * All or nothing: throws notFound naming the first predictionId not logged for this model,
   * validationError for an actual value the version cannot have predicted.
   */
  submit(name: string, req: FeedbackRequest): Promise<{ accepted: number }>;
  performance(name: string, version: number, window: string): Promise<Performance>;
}

export function createFeedbackService(deps: {
  pool: pg.Pool;
  log: PredictionLog;
}): FeedbackService {
  const { pool } = deps;
  return {
    async submit(name, req) {
      const items: FeedbackItem[] = "items" in req ? req.items : [req];
      const pathOf = (i: number, field: string) =>
        "items" in req ? `items[${i}].${field}` : field;
      // Ids handed out by this replica may still wait in its log.
      await deps.log.flush();
      const ids = items.map((item) => item.predictionId);
      const { rows } = await pool.query<{
        id: string;
        predicted: Record<string, string | number>;
        target: TargetTransform | null;
      }>(
        `SELECT p.id, p.predicted, v.preprocessing->'target' AS target
           FROM prediction_records p
           JOIN model_versions v ON v.id = p.version_id
           JOIN models m ON m.id = v.model_id
          WHERE p.id = ANY($1::uuid[]) AND m.name = $2`,
        [ids, name],
      );
      const found = new Map(rows.map((row) => [row.id, row]));
      const missing = items.findIndex((item) => !found.has(item.predictionId));
      if (missing >= 0) {
        const error = notFound(`prediction of model "${name}"`, items[missing]!.predictionId);
        throw new AppError("NOT_FOUND", error.message, {
          errors: [
            {
              path: pathOf(missing, "predictionId"),
              message: "no such prediction was logged (or it is past its retention)",
            },
          ],
        });
      }
      const issues: FieldIssue[] = [];
      items.forEach((item, i) => {
        const row = found.get(item.predictionId)!;
        const problem = actualIssue(row.target, row.predicted, item.actual);
        if (problem) issues.push({ path: pathOf(i, "actual"), message: problem });
      });
      if (issues.length > 0) throw validationError(issues);
      await pool.query(
        `UPDATE prediction_records AS p SET actual = u.a, feedback_at = coalesce(p.feedback_at, now())
           FROM unnest($1::uuid[], $2::jsonb[]) AS u(i, a)
          WHERE p.id = u.i`,
        [ids, items.map((item) => JSON.stringify(item.actual))],
      );
      return { accepted: items.length };
    },

    async performance(name, version, window) {
      const ms = parseWindow(window);
      const facts = await lookupVersion(pool, name, version, "has a performance");
      await deps.log.flush();
      const { rows } = await pool.query<{
        predictions: number;
        with_feedback: number;
        accuracy: number | null;
        mae: number | null;
        classifier: boolean;
      }>(
        `SELECT count(*)::int AS predictions, count(actual)::int AS with_feedback,
                avg(CASE WHEN coalesce(predicted->>'label', predicted->>'class') = actual#>>'{}' THEN 1.0 ELSE 0.0 END)
                  FILTER (WHERE actual IS NOT NULL AND (predicted ? 'label' OR predicted ? 'class'))::float8 AS accuracy,
                avg(abs((actual#>>'{}')::float8 - coalesce(predicted->>'value', predicted->>'output')::float8))
                  FILTER (WHERE actual IS NOT NULL AND (predicted ? 'value' OR predicted ? 'output'))::float8 AS mae,
                bool_or(predicted ? 'label' OR predicted ? 'class') AS classifier
           FROM prediction_records
          WHERE version_id = $1 AND created_at >= now() - $2::double precision * interval '1 millisecond'`,
        [facts.id, ms],
      );
      const row = rows[0]!;
      const classifier =
        facts.preprocessing?.target.type === "categorical" || (row.classifier ?? false);
      return {
        model: name,
        version,
        window,
        predictions: row.predictions,
        withFeedback: row.with_feedback,
        ...(classifier ? { accuracy: row.accuracy } : { mae: row.mae }),
      };
    },
  };
}

function actualIssue(
  target: TargetTransform | null,
  predicted: Record<string, string | number>,
  actual: string | number,
): string | undefined {
  if (target?.type === "categorical") {
    return target.classes.includes(String(actual))
      ? undefined
      : `must be one of the classes (${target.classes.map((c) => JSON.stringify(c)).join(", ")}), got ${JSON.stringify(actual)}`;
  }
  if (typeof actual !== "number") return `must be a number, got ${JSON.stringify(actual)}`;
  if ("class" in predicted && !Number.isInteger(actual))
    return `must be a class index, got ${actual}`;
  return undefined;
}
