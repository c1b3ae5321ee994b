/**
 * nnserve.v1.Datasets: uploads and the dataset registry, as POST/GET/DELETE /datasets of the
 * REST API, through the same readers (src/datasets) and the same service.
 */
import { Readable } from "node:stream";
import { z } from "zod";
import { readCsv, tooManyBytes, type UploadLimits } from "../../datasets/csv.ts";
import {
  COLUMN_TYPES,
  type Dataset,
  type DatasetSummary,
  datasetListQuerySchema,
  datasetParamsSchema,
  datasetUploadQuerySchema,
} from "../../datasets/schemas.ts";
import type { DatasetService } from "../../datasets/service.ts";
import { buildTable } from "../../datasets/table.ts";
import { recordsFromJson } from "../../datasets/upload.ts";
import type { Dataset as DatasetMessage } from "../../generated/grpc/nnserve/v1/Dataset.ts";
import type { DatasetsHandlers } from "../../generated/grpc/nnserve/v1/Datasets.ts";
import { validationError } from "../../platform/errors.ts";
import type { Logger } from "../../platform/logger.ts";
import { parseRequest } from "../../platform/validation/parse.ts";
import { timestamp } from "./convert.ts";
import { unary } from "./status.ts";

export interface DatasetsHandlerDeps {
  datasets: DatasetService;
  limits: UploadLimits;
  logger: Logger;
}

const typesSchema = z.object({
  types: z.record(z.string(), z.enum(COLUMN_TYPES, 'must be "numeric" or "categorical"')),
});

function toMessage(dataset: Dataset | DatasetSummary): DatasetMessage {
  const columns = "columns" in dataset ? dataset.columns : [];
  return {
    id: dataset.id,
    name: dataset.name,
    rows: dataset.rows,
    bytes: dataset.bytes,
    columnCount: "columns" in dataset ? dataset.columns.length : dataset.columnCount,
    createdAt: timestamp(dataset.createdAt),
    columns: columns.map((c) =>
      c.type === "numeric"
        ? {
            name: c.name,
            type: c.type,
            count: c.count,
            missing: c.missing,
            ...(c.min !== null && { min: c.min, max: c.max!, mean: c.mean!, std: c.std! }),
          }
        : {
            name: c.name,
            type: c.type,
            count: c.count,
            missing: c.missing,
            categories: c.categories,
          },
    ),
  };
}

export function datasetsHandlers({
  datasets,
  limits,
  logger,
}: DatasetsHandlerDeps): DatasetsHandlers {
  const id = (value: string) => parseRequest(datasetParamsSchema, { id: value }).id;
  return {
    CreateDataset: unary(logger, "CreateDataset", async (req) => {
      const { name, missing } = parseRequest(datasetUploadQuerySchema, {
        name: req.name,
        ...(req.missing !== undefined && req.missing !== null && { missing: req.missing }),
      });
      const { types } = parseRequest(typesSchema, { types: req.types });
      let table: Awaited<ReturnType<typeof readCsv>>;
      if (req.content === "csv") {
        if (req.csv!.length > limits.maxBytes) throw tooManyBytes(limits.maxBytes);
        table = await readCsv(Readable.from([req.csv!]), limits, missing);
      } else if (req.content === "recordsJson") {
        if (Buffer.byteLength(req.recordsJson!) > limits.maxBytes)
          throw tooManyBytes(limits.maxBytes);
        table = recordsFromJson(req.recordsJson!, limits);
      } else {
        throw validationError(
          [{ path: "file", message: "is empty; set csv or records_json" }],
          "The request has no table: set csv or records_json.",
        );
      }
      return toMessage(await datasets.create(name, buildTable(table, types)));
    }),
    ListDatasets: unary(logger, "ListDatasets", async (req) => {
      const query = parseRequest(datasetListQuerySchema, {
        ...(req.limit !== undefined && { limit: req.limit }),
        ...(req.cursor !== "" && { cursor: req.cursor }),
      });
      const page = await datasets.list(query);
      return { items: page.items.map(toMessage), nextCursor: page.nextCursor ?? "" };
    }),
    GetDataset: unary(logger, "GetDataset", async (req) =>
      toMessage(await datasets.get(id(req.id))),
    ),
    DeleteDataset: unary(logger, "DeleteDataset", async (req) => {
      await datasets.delete(id(req.id));
      return {};
    }),
  };
}
