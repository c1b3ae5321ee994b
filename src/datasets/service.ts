/**
 * Datasets in Postgres: the column schema and statistics as JSON on the dataset row (what lists
 * and views read), each column's values as one bytea row of dataset_columns (what training
 * reads). An upload is stored in one transaction: a dataset is there whole or not at all; its
 * columns go in as chunked raw INSERTs (src/platform/db/bulk.ts).
 */

import type { Prisma } from "../generated/prisma/client.ts";
import { pageAfter, toPage } from "../platform/cursor.ts";
import {
  bytesToFloat64,
  bytesToInt32,
  float64ToBytes,
  int32ToBytes,
} from "../platform/db/binary.ts";
import { bulkTransactionOptions, insertRows } from "../platform/db/bulk.ts";
import type { Database } from "../platform/db/client.ts";
import { readStored } from "../platform/db/stored-json.ts";
import { notFound } from "../platform/errors.ts";
import type { Dataset, DatasetColumnView, DatasetListQuery, DatasetPage } from "./schemas.ts";
import { storedDatasetColumns, toStoredColumns } from "./stored-columns.ts";
import type { BuiltTable, TypedColumn } from "./table.ts";

/** A dataset as training reads it: every column's values. */
export interface LoadedDataset {
  id: string;
  name: string;
  rows: number;
  columns: TypedColumn[];
  views: DatasetColumnView[];
}

export interface DatasetService {
  create(name: string, table: BuiltTable): Promise<Dataset>;
  list(query: DatasetListQuery): Promise<DatasetPage>;
  /** Throws notFound("dataset", id). */
  get(id: string): Promise<Dataset>;
  /** Throws notFound("dataset", id). Models trained from it keep their own copy of the rows. */
  delete(id: string): Promise<void>;
  /** Throws notFound("dataset", id). */
  load(id: string): Promise<LoadedDataset>;
}

interface DatasetRow {
  id: string;
  name: string;
  rows: number;
  bytes: number;
  columns: Prisma.JsonValue;
  createdAt: Date;
}

function toView(row: DatasetRow): Dataset {
  return {
    id: row.id,
    name: row.name,
    rows: row.rows,
    bytes: row.bytes,
    columns: readStored(storedDatasetColumns, row.columns, `columns of dataset ${row.id}`),
    createdAt: row.createdAt.toISOString(),
  };
}

function columnBytes(column: TypedColumn): Uint8Array<ArrayBuffer> {
  return column.type === "numeric" ? float64ToBytes(column.values) : int32ToBytes(column.codes);
}

export function createDatasetService({ db }: { db: Pick<Database, "prisma"> }): DatasetService {
  const { prisma } = db;
  const find = async (id: string) => {
    const row = await prisma.dataset.findUnique({ where: { id } });
    if (!row) throw notFound("dataset", id);
    return row;
  };

  return {
    async create(name, table) {
      const values = table.columns.map(columnBytes);
      const bytes = values.reduce((sum, v) => sum + v.byteLength, 0);
      const row = await prisma.$transaction(async (tx) => {
        const dataset = await tx.dataset.create({
          data: {
            name,
            rows: table.rows,
            bytes,
            columns: toStoredColumns(table.views),
          },
        });
        await insertRows(
          tx,
          "dataset_columns",
          [{ name: "dataset_id", cast: "uuid" }, { name: "position" }, { name: "values" }],
          values.map((v, position) => [dataset.id, position, v]),
        );
        return dataset;
      }, bulkTransactionOptions(bytes));
      return toView(row);
    },

    async list(query) {
      const rows = await prisma.dataset.findMany({
        ...pageAfter(query.cursor),
        take: query.limit + 1,
      });
      return toPage(rows, query.limit, (row) => {
        const { columns, ...summary } = toView(row);
        return { ...summary, columnCount: columns.length };
      });
    },

    async get(id) {
      return toView(await find(id));
    },

    async delete(id) {
      const { count } = await prisma.dataset.deleteMany({ where: { id } });
      if (count === 0) throw notFound("dataset", id);
    },

    async load(id) {
      const row = await find(id);
      const views = readStored(storedDatasetColumns, row.columns, `columns of dataset ${id}`);
      const stored = await prisma.datasetColumn.findMany({
        where: { datasetId: id },
        orderBy: { position: "asc" },
      });
      const columns = views.map((view, i): TypedColumn => {
        const bytes = stored[i]!.values;
        return view.type === "numeric"
          ? { name: view.name, type: "numeric", values: bytesToFloat64(bytes) }
          : {
              name: view.name,
              type: "categorical",
              categories: view.categories.map((c) => c.value),
              codes: bytesToInt32(bytes),
            };
      });
      return { id: row.id, name: row.name, rows: row.rows, columns, views };
    },
  };
}
