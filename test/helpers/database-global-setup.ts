// vitest globalSetup: finds or starts the test Postgres server once for the whole run and hands
// its URL to the test files (see database.ts), so that an embedded server starts only once.
import type { TestProject } from "vitest/node";
import { startTestDatabaseServer } from "./database-server.ts";

export default async function setup(project: TestProject) {
  const server = await startTestDatabaseServer();
  project.provide("testDatabaseServerUrl", server.url);
  return () => server.stop();
}
