import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";

// The migrations are written by hand (Prisma's schema engine cannot run here), so this test is
// what keeps them and prisma/schema.prisma from drifting apart: every model must have its
// table, every field its column with a matching type and nullability, every enum its values,
// every @@index/@@unique/@unique its index under Prisma's name, every @default its column
// default, every @id/@@id its primary key and every relation its foreign key, and nothing more.

interface Field {
  name: string;
  column: string;
  type: string;
  optional: boolean;
  native?: string;
  default?: string;
}
interface ModelBlock {
  name: string;
  table: string;
  fields: Field[];
  indexes: { name: string; unique: boolean }[];
  primaryKey: string[];
  foreignKeys: { name: string; references: string; onDelete: string }[];
}

const schemaPath = fileURLToPath(new URL("../../../prisma/schema.prisma", import.meta.url));
let db: TestDatabase;
let models: ModelBlock[];
let enums: Map<string, { dbName: string; values: string[] }>;

beforeAll(async () => {
  db = await createTestDatabase();
  ({ models, enums } = parseSchema(await readFile(schemaPath, "utf8")));
});
afterAll(() => db.close());

describe("the migrated database", () => {
  it("has a table for every model and no other", async () => {
    const tables = await db.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    expect(tables.rows.map((row) => row.table_name).sort()).toEqual(
      models.map((model) => model.table).sort(),
    );
  });

  it("has every field as a column of a compatible type, nullability and default", async () => {
    for (const model of models) {
      const columns = await db.pool.query<{
        column_name: string;
        data_type: string;
        udt_name: string;
        is_nullable: string;
        column_default: string | null;
      }>(
        `SELECT column_name, data_type, udt_name, is_nullable, column_default
           FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name = $1`,
        [model.table],
      );
      const actual = Object.fromEntries(
        columns.rows.map((row) => [
          row.column_name,
          {
            type: row.data_type === "USER-DEFINED" ? row.udt_name : row.data_type,
            nullable: row.is_nullable === "YES",
            default: row.column_default,
          },
        ]),
      );
      const expected = Object.fromEntries(
        model.fields.map((field) => [
          field.column,
          {
            type: expectedColumnType(field),
            nullable: field.optional,
            default: expectedDefault(field, model.table),
          },
        ]),
      );
      expect(actual, `columns of ${model.table}`).toEqual(expected);
    }
  });

  it("has every enum with its values in order", async () => {
    for (const { dbName, values } of enums.values()) {
      const result = await db.pool.query<{ enumlabel: string }>(
        `SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
          WHERE t.typname = $1 ORDER BY e.enumsortorder`,
        [dbName],
      );
      expect(
        result.rows.map((row) => row.enumlabel),
        `enum ${dbName}`,
      ).toEqual(values);
    }
  });

  it("has every index the schema declares, under Prisma's names", async () => {
    for (const model of models) {
      const result = await db.pool.query<{ indexname: string; indexdef: string }>(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1",
        [model.table],
      );
      const actual = result.rows
        .filter((row) => !row.indexname.endsWith("_pkey"))
        .map((row) => ({ name: row.indexname, unique: row.indexdef.startsWith("CREATE UNIQUE") }));
      expect(sortByName(actual), `indexes of ${model.table}`).toEqual(sortByName(model.indexes));
    }
  });

  it("has every primary key and foreign key the schema declares", async () => {
    for (const model of models) {
      const primaryKey = await db.pool.query<{ column_name: string }>(
        `SELECT a.attname AS column_name
           FROM pg_index i
           JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.n`,
        [model.table],
      );
      expect(
        primaryKey.rows.map((row) => row.column_name),
        `primary key of ${model.table}`,
      ).toEqual(model.primaryKey);
      const foreignKeys = await db.pool.query<{
        name: string;
        references: string;
        onDelete: string;
      }>(
        `SELECT c.conname AS name, c.confrelid::regclass::text AS references,
                CASE c.confdeltype WHEN 'c' THEN 'Cascade' WHEN 'r' THEN 'Restrict'
                     WHEN 'n' THEN 'SetNull' WHEN 'a' THEN 'NoAction' ELSE 'SetDefault' END
                  AS "onDelete"
           FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype = 'f'`,
        [model.table],
      );
      expect(sortByName(foreignKeys.rows), `foreign keys of ${model.table}`).toEqual(
        sortByName(model.foreignKeys),
      );
    }
  });
});

/** The column_default Postgres reports for Prisma's @default(...). */
function expectedDefault(field: Field, table: string): string | null {
  const value = field.default;
  if (value === undefined) return null;
  if (value === "now()") return "CURRENT_TIMESTAMP";
  // BIGSERIAL: a sequence named after the table and column.
  if (value === "autoincrement()") return `nextval('${table}_${field.column}_seq'::regclass)`;
  const generated = /^dbgenerated\("(.*)"\)$/.exec(value);
  if (generated) return generated[1]!;
  if (/^-?\d+$/.test(value) || value === "true" || value === "false") return value;
  const enumType = enums.get(field.type);
  if (enumType) return `'${value}'::${enumType.dbName}`;
  if (value.startsWith('"')) return `'${JSON.parse(value)}'::text`;
  throw new Error(`teach this test the default @default(${value})`);
}

/** The text inside `@attribute(...)`, balancing nested parentheses. */
function argumentOf(text: string, attribute: string): string | undefined {
  const start = text.indexOf(`${attribute}(`);
  if (start < 0) return undefined;
  let depth = 0;
  for (let i = start + attribute.length; i < text.length; i++) {
    if (text[i] === "(") depth++;
    if (text[i] === ")" && --depth === 0) return text.slice(start + attribute.length + 1, i);
  }
  return undefined;
}

function expectedColumnType(field: Field): string {
  const enumType = enums.get(field.type);
  if (enumType) return enumType.dbName;
  const native: Record<string, string> = {
    Uuid: "uuid",
    Timestamptz: "timestamp with time zone",
    Timestamp: "timestamp without time zone",
    Text: "text",
  };
  if (field.native) {
    const type = native[field.native];
    if (!type) throw new Error(`teach this test the native type @db.${field.native}`);
    return type;
  }
  const scalar: Record<string, string> = {
    String: "text",
    Int: "integer",
    BigInt: "bigint",
    Float: "double precision",
    Boolean: "boolean",
    DateTime: "timestamp without time zone",
    Json: "jsonb",
    Bytes: "bytea",
  };
  const type = scalar[field.type];
  if (!type) throw new Error(`unknown field type ${field.type}`);
  return type;
}

/** Just enough of the Prisma schema language for this schema: models, enums, @map, @@map. */
function parseSchema(source: string) {
  const blocks = [...source.matchAll(/^(model|enum)\s+(\w+)\s*\{([\s\S]*?)^\}/gm)];
  const lines = (body: string) =>
    body
      .split("\n")
      .map((line) => line.replace(/\/\/.*$/, "").trim())
      .filter(Boolean);
  const mapped = (text: string, attribute: string) =>
    new RegExp(`${attribute}\\("([^"]+)"\\)`).exec(text)?.[1];

  const enumMap = new Map<string, { dbName: string; values: string[] }>();
  for (const [, kind, name, body] of blocks) {
    if (kind !== "enum") continue;
    const entries = lines(body!);
    enumMap.set(name!, {
      dbName: mapped(body!, "@@map") ?? name!,
      values: entries.filter((line) => !line.startsWith("@@")).map((line) => line.split(/\s/)[0]!),
    });
  }
  const modelNames = new Set(blocks.filter(([, kind]) => kind === "model").map(([, , n]) => n));

  const parsed: ModelBlock[] = [];
  for (const [, kind, name, body] of blocks) {
    if (kind !== "model") continue;
    const table = mapped(body!, "@@map") ?? name!;
    const fields: Field[] = [];
    const indexes: { name: string; unique: boolean }[] = [];
    const relations: { type: string; fields: string[]; onDelete: string }[] = [];
    let primaryKey: string[] = [];
    for (const line of lines(body!)) {
      if (line.startsWith("@@")) continue;
      const [fieldName, rawType] = line.split(/\s+/) as [string, string];
      const type = rawType.replace(/[?[\]]/g, "");
      if (modelNames.has(type)) {
        // A relation, not a column; the side with `fields:` holds the foreign key.
        const relation = argumentOf(line, "@relation");
        const keyFields = relation && /fields:\s*\[([^\]]+)\]/.exec(relation)?.[1];
        if (keyFields) {
          relations.push({
            type,
            fields: keyFields.split(",").map((part) => part.trim()),
            onDelete:
              /onDelete:\s*(\w+)/.exec(relation)?.[1] ??
              (rawType.endsWith("?") ? "SetNull" : "Restrict"),
          });
        }
        continue;
      }
      const column = mapped(line, "@map") ?? fieldName;
      const native = /@db\.(\w+)/.exec(line)?.[1];
      fields.push({
        name: fieldName,
        column,
        type,
        optional: rawType.endsWith("?"),
        native,
        default: argumentOf(line, "@default"),
      });
      if (/@id\b/.test(line)) primaryKey = [column];
      if (/@unique\b/.test(line)) indexes.push({ name: `${table}_${column}_key`, unique: true });
    }
    const columnOf = (fieldName: string) =>
      fields.find((field) => field.name === fieldName)?.column ?? fieldName;
    for (const [, attribute, list] of body!.matchAll(/@@(index|unique)\(\[([^\]]+)\]/g)) {
      const columns = list!.split(",").map((part) => columnOf(part.trim()));
      const unique = attribute === "unique";
      indexes.push({ name: `${table}_${columns.join("_")}_${unique ? "key" : "idx"}`, unique });
    }
    const compoundId = /@@id\(\[([^\]]+)\]/.exec(body!)?.[1];
    if (compoundId) primaryKey = compoundId.split(",").map((part) => columnOf(part.trim()));
    const tableOf = (modelName: string) =>
      mapped(blocks.find(([, k, n]) => k === "model" && n === modelName)![3]!, "@@map") ??
      modelName;
    const foreignKeys = relations.map((relation) => ({
      name: `${table}_${relation.fields.map(columnOf).join("_")}_fkey`,
      references: tableOf(relation.type),
      onDelete: relation.onDelete,
    }));
    parsed.push({ name: name!, table, fields, indexes, primaryKey, foreignKeys });
  }
  return { models: parsed, enums: enumMap };
}

function sortByName<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.name.localeCompare(b.name));
}
