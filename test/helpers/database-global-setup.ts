// vitest globalSetup: finds or starts the test Postgres server once for the whole run and hands
// its URL to the test files (see database.ts), so that an embedded server starts only once.
import type { TestProject } from "vitest/node";
import { startTestDatabaseServer } from "./database-server.ts";
import { dropStaleTestDatabases } from "./test-databases.ts";

export default async function setup(project: TestProject) {
  const server = await startTestDatabaseServer();
  // A test process that was killed never dropped its databases; a later run does.
  const dropped = await dropStaleTestDatabases(server.url);
  if (dropped.length > 0)
    console.log(`dropped ${dropped.length} test databases of dead test processes`);
  project.provide("testDatabaseServerUrl", server.url);
  return () => server.stop();
}
