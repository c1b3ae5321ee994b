/**
 * Going live on a model's page, in a real browser against a whole nnserve (issues 20 and 27):
 * Promote asks to confirm and for a reason and changes nothing before; Roll back puts the alias
 * back; the history timeline shows both with their reasons; the traffic split shows this
 * server's figures per version as the API gives them. The page is then screenshotted in four
 * looks (light and dark, wide and 360 px) and scanned with axe-core.
 */
import type { Browser, Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrafficView } from "../../src/prediction/traffic/schemas.ts";
import type { AliasView } from "../../src/versions/aliases/schemas.ts";
import {
  LOOKS,
  launchBrowser,
  openPage,
  screenshot,
  seriousViolations,
} from "../helpers/browser.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { put, readyVersions } from "../helpers/lifecycle.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const MODEL = "ui-live";

let db: TestDatabase;
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  browser = await launchBrowser();
  await readyVersions(server.http, MODEL, 3);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
});

async function aliasVersion(alias: string) {
  const { body } = await server.http.get<{ aliases: AliasView[] }>(`/models/${MODEL}/aliases`);
  return body.aliases.find((a) => a.alias === alias)?.version;
}

/** Opens the decision for `opener`, gives the reason and confirms with `action`. */
async function decide(section: Locator, opener: string, action: string, reason: string) {
  await section.getByRole("button", { name: opener, exact: true }).click();
  const form = section.getByRole("form", { name: `${opener}?` });
  await form.getByLabel("Reason (kept in the history)").fill(reason);
  await form.getByRole("button", { name: action, exact: true }).click();
  await form.waitFor({ state: "detached" });
}

describe("Going live on a model's page", () => {
  it("promotes after a confirmation with a reason, rolls back, shows the history and the split's figures; passes axe in four looks", {
    timeout: 180_000,
  }, async () => {
    const { page, problems } = await openPage(browser, { width: 1280, height: 900 });
    await page.goto(`${server.url}/ui/#/models/${MODEL}`);
    const section = page.getByRole("region", { name: "Going live" });
    await section
      .getByText("Unpinned requests go to the newest ready version, v3.", { exact: true })
      .waitFor();

    // Promote opens a confirmation; nothing is sent before it, nor without a reason.
    await section.getByRole("button", { name: "Promote v1", exact: true }).click();
    const form = section.getByRole("form", { name: "Promote v1?" });
    expect(await form.getByLabel("Alias").inputValue()).toBe("production");
    await form.getByRole("button", { name: "Promote", exact: true }).click();
    await form.getByText("Say why; the history keeps it.").waitFor();
    expect(await form.getByLabel("Reason (kept in the history)").getAttribute("aria-invalid")).toBe(
      "true",
    );
    expect(await aliasVersion("production")).toBeUndefined();
    await screenshot(page, "going-live-confirm-light-wide");
    await form.getByLabel("Reason (kept in the history)").fill("reviewed");
    await form.getByRole("button", { name: "Promote", exact: true }).click();
    await section.getByRole("status").getByText("v1 is now production.").waitFor();
    expect(await aliasVersion("production")).toBe(1);
    await section.getByText("Unpinned requests go to production, v1.", { exact: true }).waitFor();

    // Cancel leaves everything as it was and gives the focus back to the button.
    await section.getByRole("button", { name: "Promote v3", exact: true }).click();
    await section.getByRole("button", { name: "Cancel" }).click();
    // Page-side code as text: the tests are type-checked without the DOM's types.
    expect(await page.evaluate('document.activeElement.getAttribute("aria-label")')).toBe(
      "Promote v3",
    );

    await decide(section, "Promote v2", "Promote", "better on last week");
    expect(await aliasVersion("production")).toBe(2);
    // Another alias than production: a pin, shown on its version's row.
    await section.getByRole("button", { name: "Promote v3", exact: true }).click();
    const staging = section.getByRole("form", { name: "Promote v3?" });
    await staging.getByLabel("Alias").fill("staging");
    await staging.getByLabel("Reason (kept in the history)").fill("try it on the pins");
    await staging.getByRole("button", { name: "Promote", exact: true }).click();
    await section.getByRole("status").getByText("v3 is now staging.").waitFor();
    expect(await aliasVersion("staging")).toBe(3);
    expect(await section.locator('tr[data-version="3"] .alias').allTextContents()).toEqual([
      "staging",
    ]);

    await decide(section, "Roll back production", "Roll back", "alerts fired");
    await section.getByRole("status").getByText("production rolled back from v2 to v1.").waitFor();
    expect(await aliasVersion("production")).toBe(1);
    expect(await section.locator('tr[data-version="1"] .alias').allTextContents()).toEqual([
      "production",
    ]);

    const items = await section.locator(".timeline li").allTextContents();
    expect(items[0]).toContain("production rolled back from v2 to v1");
    expect(items[0]).toContain("alerts fired");
    expect(items[1]).toContain("staging set to v3");
    expect(items[2]).toContain("production moved from v1 to v2");
    expect(items[2]).toContain("better on last week");
    expect(items[3]).toContain("production set to v1");
    expect(items.at(-1)).toContain("v1 created by job");

    // A split set through the API, and predictions through it: the page shows the split and
    // the figures this server counted, the same as GET traffic.
    const split = await put(server.http, `/models/${MODEL}/traffic`, {
      split: [
        { version: 1, weight: 80 },
        { version: 2, weight: 20 },
      ],
      reason: "canary",
    });
    expect(split.status, JSON.stringify(split.body)).toBe(200);
    for (let i = 0; i < 20; i++) {
      const answer = await server.http.post("/predict", { model: MODEL, inputs: [[0, 1]] });
      expect(answer.status).toBe(200);
    }
    const { body: traffic } = await server.http.get<TrafficView>(`/models/${MODEL}/traffic`);
    await page.reload();
    await section
      .getByText("Unpinned requests follow the split: v1 80 %, v2 20 %.", { exact: true })
      .waitFor();
    expect(await section.getByRole("img", { name: "Split: v1 80 %, v2 20 %" }).count()).toBe(1);
    const table = section.getByRole("table", { name: /Requests this server answered/ });
    let total = 0;
    for (const figures of traffic.split) {
      const row = table.getByRole("row", { name: new RegExp(`^v${figures.version} `) });
      expect(await row.locator('[data-label="requests"]').textContent()).toBe(
        String(figures.requests),
      );
      expect(await row.locator('[data-label="split"]').textContent()).toBe(`${figures.weight} %`);
      total += figures.requests;
    }
    expect(total).toBe(20);
    expect((await section.locator(".timeline li").first().textContent()) ?? "").toContain(
      "traffic split v1 80 %, v2 20 %",
    );
    expect(problems.errors).toEqual([]);
    await page.context().close();

    // The page in every look: one h1, nothing wider than the screen, no serious axe finding.
    for (const look of LOOKS) {
      const context = await browser.newContext({
        viewport: look.viewport,
        colorScheme: look.colorScheme,
      });
      const tab = await context.newPage();
      tab.setDefaultTimeout(10_000);
      const errors: string[] = [];
      tab.on("pageerror", (error) => errors.push(error.message));
      await tab.goto(`${server.url}/ui/#/models/${MODEL}`);
      await tab.locator(".timeline").waitFor();
      expect(await tab.locator("h1").count(), look.name).toBe(1);
      const overflow = (await tab.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      )) as number;
      expect(overflow, `${look.name} overflows sideways`).toBeLessThanOrEqual(0);
      await screenshot(tab, `going-live-${look.name}`);
      expect(await seriousViolations(tab), look.name).toEqual([]);
      // The confirmation, open, in the same look.
      await tab.getByRole("button", { name: "Roll back production" }).click();
      await tab.getByRole("form", { name: "Roll back production?" }).waitFor();
      await screenshot(tab, `going-live-rollback-${look.name}`);
      expect(await seriousViolations(tab), `${look.name} with the confirmation`).toEqual([]);
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
