// Configuration of the Prisma CLI. The application does not read it: src/platform/db/client.ts takes its
// URL from the caller, and src/platform/db/migrator.ts applies prisma/migrations itself.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  // Only commands that talk to a database need the URL; `prisma generate` must work without one.
  ...(process.env.DATABASE_URL ? { datasource: { url: process.env.DATABASE_URL } } : {}),
});
