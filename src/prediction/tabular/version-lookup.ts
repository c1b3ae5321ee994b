/**
 * Which version a batch job or a table of rows goes to, with what the caller needs to shape its
 * rows (the preprocessing's features, the network's input width), by one query. The version is
 * named by number or is the newest ready one; aliases (issue 20, on another branch) plug in
 * here: resolve the alias to a version number, then this query.
 */
import type pg from "pg";
import { readStored } from "../../platform/db/stored-json.ts";
import { AppError, conflict, notFound, validationError } from "../../platform/errors.ts";
import type { Preprocessing } from "../../versions/preprocessing/schema.ts";
import { storedPreprocessingColumn } from "../../versions/stored-columns.ts";

export interface VersionFacts {
  id: string;
  modelId: string;
  version: number;
  preprocessing: Preprocessing | null;
  /** The network's input width. */
  inputs: number;
}

export async function lookupVersion(
  pool: pg.Pool,
  name: string,
  pin: number | { version?: number | undefined; alias?: string | undefined } | undefined,
  verb = "predicts",
): Promise<VersionFacts> {
  const { version, alias } = typeof pin === "number" || pin === undefined ? { version: pin } : pin;
  if (version !== undefined && alias !== undefined) {
    throw validationError([{ path: "alias", message: "give version or alias, not both" }]);
  }
  // The version pinned, else the alias pinned, else the alias production, else the newest ready
  // version: the resolver's order (prediction/resolver.ts) but for a traffic split, which routes
  // single requests, not the rows of a table, an explanation or a batch job. A study's
  // candidate (study_id set) is never the newest ready version; pinned, it answers.
  const { rows } = await pool.query<{
    id: string;
    model_id: string;
    version: number;
    status: string;
    preprocessing: unknown;
    inputs: number;
  }>(
    `SELECT v.id, v.model_id, v.version, v.status, v.preprocessing,
            (v.architecture->>'inputs')::int AS inputs
       FROM model_versions v JOIN models m ON m.id = v.model_id
       LEFT JOIN model_aliases a ON a.model_id = m.id AND a.alias = COALESCE($3, 'production')
      WHERE m.name = $1
        AND ($2::int IS NOT NULL AND v.version = $2
          OR $2::int IS NULL AND $3::text IS NOT NULL AND v.id = a.version_id
          OR $2::int IS NULL AND $3::text IS NULL AND v.status = 'ready' AND v.study_id IS NULL)
      ORDER BY (v.id = a.version_id) DESC NULLS LAST, v.version DESC LIMIT 1`,
    [name, version ?? null, alias ?? null],
  );
  const row = rows[0];
  if (!row) {
    if (version !== undefined) throw notFound("model version", `${name}@${version}`);
    const model = await pool.query("SELECT 1 FROM models WHERE name = $1", [name]);
    if (model.rowCount === 0) throw notFound("model", name);
    if (alias !== undefined) {
      throw new AppError("NOT_FOUND", `Model "${name}" has no alias "${alias}".`, {
        errors: [{ path: "alias", message: `is not an alias of model "${name}"` }],
      });
    }
    throw conflict(`Model "${name}" has no trained version yet; wait for its training job.`);
  }
  if (row.status !== "ready") {
    throw conflict(
      `Version ${row.version} of model "${name}" is ${row.status}, not ready; only a trained version ${verb}.`,
    );
  }
  return {
    id: row.id,
    modelId: row.model_id,
    version: row.version,
    preprocessing: row.preprocessing
      ? readStored(
          storedPreprocessingColumn,
          row.preprocessing,
          `preprocessing of ${name}@${row.version}`,
        )
      : null,
    inputs: row.inputs,
  };
}
