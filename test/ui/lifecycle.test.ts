/**
 * Going live on the dashboard, in a real browser against a whole nnserve: Promote asks to
 * confirm with a reason, Roll back puts production back, and the history timeline shows both
 * with their reasons.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AliasView } from "../../src/versions/aliases/schemas.ts";
import { launchBrowser, openPage } from "../helpers/browser.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { readyVersions } from "../helpers/lifecycle.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let db: TestDatabase;
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  browser = await launchBrowser();
  await readyVersions(server.http, "ui-live", 2);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
});

const production = async () =>
  (await server.http.get<{ aliases: AliasView[] }>("/models/ui-live/aliases")).body.aliases.find(
    (a) => a.alias === "production",
  )?.version;

describe("Going live on a model's page", () => {
  it("promotes with a confirmation and a reason, rolls back, and shows both in the history", async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui/#/models/ui-live`);
    const section = page.getByRole("region", { name: "Going live" });
    await section.getByText("No production alias").waitFor();

    await section.getByRole("button", { name: "Promote v1" }).click();
    // Nothing changes before the confirmation.
    expect(await production()).toBeUndefined();
    await section.getByLabel("Reason (kept in the history)").fill("reviewed");
    await section.getByRole("button", { name: "Promote", exact: true }).click();
    await section.getByText("Production is v1").waitFor();
    expect(await production()).toBe(1);

    await section.getByRole("button", { name: "Promote v2" }).click();
    await section.getByLabel("Reason (kept in the history)").fill("better on last week");
    await section.getByRole("button", { name: "Promote", exact: true }).click();
    await section.getByText("Production is v2").waitFor();

    await section.getByRole("button", { name: "Roll back production" }).click();
    await section.getByLabel("Reason (kept in the history)").fill("alerts fired");
    await section.getByRole("button", { name: "Roll back", exact: true }).click();
    await section.getByText("Production is v1").waitFor();
    expect(await production()).toBe(1);

    const items = await section.locator(".timeline li").allTextContents();
    expect(items[0]).toContain("production rolled back from v2 to v1");
    expect(items[0]).toContain("alerts fired");
    expect(items[1]).toContain("production moved from v1 to v2");
    expect(items[2]).toContain("production set to v1");
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });
});
