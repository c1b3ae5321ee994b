/**
 * POST /predict with rows as a table: a text/csv body (a header row, then rows; the model,
 * version, passthrough and ignoreExtraColumns in the query), or JSON rows keyed by name with
 * `passthrough` or `ignoreExtraColumns`; and the answer as CSV when the client accepts
 * text/csv (passthrough columns first, then label and probability_<class>, or value).
 */
import { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { readCsv } from "../../../datasets/csv.ts";
import { AppError, validationError } from "../../../platform/errors.ts";
import { modelName } from "../../../platform/validation/common.ts";
import { recordsToCsv, resultRecords } from "../../../prediction/batch/results.ts";
import type { PredictRequest, PredictResponse } from "../../../prediction/request.ts";
import { aliasName } from "../../../versions/aliases/schemas.ts";
import type { RawCell } from "../../../versions/preprocessing/encode.ts";
import type { Services } from "../../services.ts";

const flag = z.enum(["true", "false"]).transform((v) => v === "true");

/** Only a CSV body reads these; a JSON body carries its own fields. */
export const predictCsvQuerySchema = z.object({
  model: modelName.optional(),
  version: z.coerce.number().pipe(z.int().min(1, "must be a whole number >= 1")).optional(),
  alias: aliasName.optional(),
  /** Comma-separated column names. */
  passthrough: z.string().optional(),
  ignoreExtraColumns: flag.optional(),
});

export interface Passthrough {
  names: readonly string[];
  values: RawCell[][];
}

/** A JSON body that asks for the table rules. */
export function isTable(body: PredictRequest): boolean {
  return body.passthrough !== undefined || body.ignoreExtraColumns !== undefined;
}

export async function tablePredict(
  request: FastifyRequest,
  services: Services,
  maxRows: number,
  maxBytes: number,
  maxColumns: number,
): Promise<{ response: PredictResponse; passthrough: Passthrough | undefined }> {
  const tables = services.tables;
  if (!tables) throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Tables are not served here.");
  const body = request.body as PredictRequest | Readable;
  let req: Parameters<typeof tables.predict>[0];
  if (body instanceof Readable) {
    const query = request.query as z.output<typeof predictCsvQuerySchema>;
    if (!query.model)
      throw validationError([
        { path: "model", message: "is required: ?model=<name> with a CSV body" },
      ]);
    const table = await readCsv(body, { maxBytes, maxRows, maxColumns }).catch((error: unknown) => {
      if (error instanceof AppError && error.code === "PAYLOAD_TOO_LARGE") {
        throw new AppError(
          "PAYLOAD_TOO_LARGE",
          `The CSV is past the limit of ${maxRows} rows (MAX_PREDICT_ROWS) or ${maxBytes} bytes (BODY_LIMIT_BYTES).`,
        );
      }
      throw error;
    });
    const rows = table.rows.map((cells) =>
      Object.fromEntries(table.header.map((name, i) => [name, cells[i] ?? null])),
    );
    if (rows.length === 0)
      throw validationError([{ path: "rows", message: "has no data rows after the header" }]);
    req = {
      model: query.model,
      ...(query.version === undefined ? {} : { version: query.version }),
      ...(query.alias === undefined ? {} : { alias: query.alias }),
      rows,
      header: table.header,
      passthrough: query.passthrough ? query.passthrough.split(",").map((c) => c.trim()) : [],
      ignoreExtraColumns: query.ignoreExtraColumns ?? false,
    };
  } else {
    if (body.explain)
      throw validationError([
        {
          path: "explain",
          message:
            "cannot be combined with passthrough or ignoreExtraColumns yet; send the feature columns only",
        },
      ]);
    const named = body.inputs.findIndex((row) => Array.isArray(row));
    if (named >= 0)
      throw validationError([
        {
          path: `inputs[${named}]`,
          message: "is an array; passthrough and ignoreExtraColumns take rows keyed by column name",
        },
      ]);
    req = {
      model: body.model,
      ...(body.version === undefined ? {} : { version: body.version }),
      ...(body.alias === undefined ? {} : { alias: body.alias }),
      rows: body.inputs as Record<string, RawCell>[],
      passthrough: body.passthrough ?? [],
      ignoreExtraColumns: body.ignoreExtraColumns ?? false,
    };
  }
  const result = await tables.predict(req);
  return {
    response: result.response,
    passthrough: { names: result.passthrough, values: result.passthroughValues },
  };
}

/** JSON (with each row's passthrough columns), or CSV for a client that accepts text/csv. */
export function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  response: PredictResponse,
  passthrough: Passthrough | undefined,
) {
  const names = passthrough?.names ?? [];
  const values = passthrough?.values ?? [];
  if (/\btext\/csv\b/.test(request.headers.accept ?? "")) {
    const csv = recordsToCsv(names, resultRecords(names, values, response));
    return reply.type("text/csv; charset=utf-8").send(csv);
  }
  if (names.length > 0) {
    response.passthrough = response.outputs.map((_, r) =>
      Object.fromEntries(names.map((name, i) => [name, values[i]![r] ?? null])),
    );
  }
  return response;
}
