/**
 * The dashboard's Studies pages in a real browser against a whole nnserve and a real database
 * (issue 22): a CSV uploaded with the file picker, a study started from it (the objectives on
 * offer follow the target's type; a budget whose rungs do not fit is refused under its field and
 * stores nothing), its page opened while no replica runs it, then watched live to the end on that
 * one page load while a second replica (in this process) trains and decides (leaderboard, curves,
 * figures equal to the API's), the winner promoted to an alias, and a second study cancelled
 * from its page.
 * The pages are then screenshotted in four looks (light and dark, wide and 360 px) and scanned
 * with axe-core.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../src/engine/index.ts";
import type { Study, StudyCurves, StudyPage } from "../../src/training/studies/schemas.ts";
import type { AliasView } from "../../src/versions/aliases/schemas.ts";
import {
  LOOKS,
  launchBrowser,
  openPage,
  screenshot,
  seriousViolations,
} from "../helpers/browser.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

const MODEL = "search-ui";

const ENV = { STUDY_TICK_MS: "100" };

let db: TestDatabase;
/** The replica the browser talks to: it neither runs jobs nor decides for studies. */
let server: TestServer;
/** Started once the page shows the study waiting: it runs the segments and decides. */
let worker: TestServer | undefined;
let browser: Browser;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url, env: ENV, runJobs: false });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await worker?.close();
  await server?.close();
  await db?.close();
});

/** Two noisy features, a class from their sum, and a numeric column (for the regression objectives). */
function csv(): string {
  const random = new Random(11);
  const lines = ["x1,x2,size,label"];
  for (let i = 0; i < 240; i++) {
    const [x1, x2] = [random.normal(), random.normal()];
    const size = 3 * x1 - x2 + 0.1 * random.normal();
    lines.push(
      `${x1.toFixed(4)},${x2.toFixed(4)},${size.toFixed(4)},${x1 + x2 > 0 ? "yes" : "no"}`,
    );
  }
  return lines.join("\n");
}

async function getStudy(id: string) {
  return (await server.http.get<Study>(`/studies/${id}`)).body;
}

/** The objective choices the form offers now, as their labels. */
async function objectives(page: Page) {
  return page.getByLabel("Judge trials by").locator("option").allTextContents();
}

async function fillBudget(page: Page, budget: Record<string, string>) {
  for (const [label, value] of Object.entries(budget)) {
    await page.getByLabel(label, { exact: true }).fill(value);
  }
}

describe("the Studies pages", () => {
  it("start a study from an uploaded dataset, follow it live to the end, promote the winner, cancel another; pass axe in four looks", {
    timeout: 300_000,
  }, async () => {
    const { page, problems } = await openPage(browser, { width: 1280, height: 900 });
    await page.goto(`${server.url}/ui/#/datasets`);
    await page.getByLabel("CSV file").setInputFiles({
      name: "search.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(csv()),
    });
    await page.getByRole("button", { name: "Upload dataset" }).click();
    await page.getByRole("heading", { level: 1, name: "search" }).waitFor();
    await page.getByRole("link", { name: "Search hyper-parameters" }).click();
    await page.getByRole("heading", { level: 1, name: "New study" }).waitFor();

    // The objectives on offer follow the target's type.
    expect(await page.getByLabel("Target column").inputValue()).toBe("label");
    expect(await objectives(page)).toEqual(["val loss", "val accuracy", "loss", "accuracy"]);
    await page.getByLabel("Target column").selectOption("size");
    expect(await objectives(page)).toEqual(["val loss", "val MAE", "loss", "MAE"]);
    await page.getByLabel("Target column").selectOption("label");
    await page.getByLabel("Judge trials by").selectOption({ label: "val accuracy" });
    await page.getByText("Higher is better").waitFor();
    await page.getByLabel("Model name").fill(MODEL);

    // Rungs that do not fit: the server's message under Min epochs, and nothing stored.
    await fillBudget(page, { "Min epochs": "9", "Max epochs": "4" });
    await page.getByText("min ≤ max").waitFor();
    await page.getByRole("button", { name: "Start study" }).click();
    const minError = page.locator('[data-field="budget.minEpochs"] .field-error');
    await minError.waitFor();
    expect(await minError.textContent()).toContain("the rungs do not fit");
    expect(await page.getByLabel("Min epochs", { exact: true }).getAttribute("aria-invalid")).toBe(
      "true",
    );
    expect((await server.http.get<StudyPage>("/studies")).body.items).toEqual([]);
    await screenshot(page, "study-new-error-light-wide");

    // A learning-rate range the wrong way round: its message under the range's first field.
    await fillBudget(page, { "Min epochs": "1", "Learning rate from": "0.5" });
    await page.getByRole("button", { name: "Start study" }).click();
    const rateError = page.locator('[data-field="space.learningRate.logUniform[0]"] .field-error');
    await rateError.waitFor();
    expect(await rateError.textContent()).toContain("is greater than high");
    expect(await minError.count()).toBe(0);
    await page.getByLabel("Learning rate from").fill("0.001");

    // A small study: 4 trials judged at 1, 2 and 4 epochs.
    await fillBudget(page, {
      Trials: "4",
      "Min epochs": "1",
      "Max epochs": "4",
      "Reduction factor η": "2",
      "At once": "2",
      Seed: "7",
    });
    await page.getByLabel("Hidden layers").fill("4; 8, 4");
    await page.getByLabel("Batch sizes").fill("16, 32");
    await page.getByRole("checkbox", { name: "elu", exact: true }).uncheck();
    const preview = await page.locator("#rung-preview").textContent();
    expect(preview).toContain("judged at 1, 2, 4 epochs");
    expect(preview).toContain("Every trial to the end: 16 epochs.");
    await screenshot(page, "study-new-light-wide");
    await page.getByRole("button", { name: "Start study" }).click();
    await page.waitForURL(/#\/studies\/[0-9a-f-]{36}$/);
    const id = /#\/studies\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    await page.getByRole("heading", { level: 1, name: `${MODEL} search` }).waitFor();

    // What the form sent is what the study runs.
    const started = await getStudy(id);
    expect(started.rungs).toEqual([1, 2, 4]);
    expect(started.seed).toBe(7);
    expect(started.objective).toEqual({ metric: "valAccuracy", direction: "maximize" });
    expect(started.trials.map((t) => t.params.activation)).toEqual([
      "relu",
      "relu",
      "relu",
      "relu",
    ]);
    for (const t of started.trials) expect([[4], [8, 4]]).toContainEqual(t.params.layers);

    // Nothing runs the study yet: its trials wait, sampled, and the chart has no epoch.
    expect(await page.locator("#study-status").textContent()).toBe("Status: running");
    const statuses = page.locator("table.trials tbody tr[data-status]");
    await waitFor("the sampled trials", async () =>
      (await statuses.count()) === 4 ? true : undefined,
    );
    for (const row of await statuses.all())
      expect(await row.getAttribute("data-status")).toBe("pending");
    expect(await page.locator("#study-chart").getAttribute("data-series")).toBe("0");

    // Followed live from another replica's decisions: the page is never loaded again, yet it
    // ends showing the finished study.
    await page.evaluate("window.__sameDocument = true");
    worker = await startTestServer({ databaseUrl: db.url, env: ENV });
    await page
      .locator("#study-status")
      .getByText("succeeded")
      .waitFor({ timeout: 180_000 })
      .catch(async (error) => {
        throw new Error(`${error}: ${JSON.stringify(await getStudy(id))}`);
      });
    expect(await page.evaluate("window.__sameDocument")).toBe(true);
    const study = await waitFor("the study's end", async () => {
      const s = await getStudy(id);
      return s.status === "succeeded" ? s : undefined;
    });
    const best = study.best!;
    expect(best).not.toBeNull();
    await page.locator("#study-events").getByText("study succeeded").waitFor();

    // The figures, the leaderboard and the chart are the API's.
    const figures = page.locator("#study-figures");
    const done = study.trials.filter((t) =>
      ["pruned", "completed", "failed", "cancelled"].includes(t.status),
    ).length;
    expect(done).toBe(4);
    expect(await figures.textContent()).toContain("Trials done4 of 4");
    const share = Math.round((100 * study.epochsSpent) / study.epochsIfExhaustive);
    expect(await figures.textContent()).toContain(
      `Epochs spent${study.epochsSpent}of ${study.epochsIfExhaustive} to run every trial to the end (${share} %)`,
    );
    const rows = page.locator("table.trials tbody tr");
    await waitFor("every trial's row", async () => ((await rows.count()) === 4 ? true : undefined));
    const bestRow = page.locator("table.trials tr.best");
    expect(await bestRow.getAttribute("data-trial")).toBe(String(best.trial));
    expect(await rows.first().getAttribute("data-trial")).toBe(String(best.trial));
    expect(await bestRow.locator("th").textContent()).toBe(`${best.trial}best`);
    for (const t of study.trials) {
      const row = page.locator(`table.trials tr[data-trial="${t.trial}"]`);
      expect(await row.getAttribute("data-status")).toBe(t.status);
      expect(await row.locator('[data-label="epochs"]').textContent()).toBe(String(t.epochs));
    }
    const { body: curves } = await server.http.get<StudyCurves>(`/studies/${id}/curves`);
    const chart = page.locator("#study-chart");
    const drawn = curves.trials.filter((t) => t.points.length > 0);
    expect(await chart.getAttribute("data-series")).toBe(String(drawn.length));
    expect(await chart.getAttribute("data-best")).toBe(`trial ${best.trial}`);
    const pruned = drawn.filter((t) => ["pruned", "failed", "cancelled"].includes(t.status));
    expect(await chart.getAttribute("data-faded")).toBe(String(pruned.length));
    expect(await chart.locator("canvas").count()).toBe(1);

    // Promote the winner to staging: the confirmation first, then the API's alias.
    expect(best.version).not.toBeNull();
    await page
      .getByRole("button", { name: `Promote trial ${best.trial}'s v${best.version}` })
      .click();
    const confirm = page.getByRole("form", {
      name: `Promote trial ${best.trial}'s v${best.version}?`,
    });
    expect(await confirm.getByLabel("Alias").inputValue()).toBe("production");
    expect(await confirm.getByLabel("Reason (kept in the history)").inputValue()).toContain(
      `trial ${best.trial}`,
    );
    await confirm.getByLabel("Alias").fill("staging");
    await screenshot(page, "study-promote-light-wide");
    await confirm.getByRole("button", { name: "Promote", exact: true }).click();
    await page
      .locator(".leaderboard")
      .getByText(`v${best.version} of ${MODEL} is now staging.`)
      .waitFor();
    const {
      body: { aliases },
    } = await server.http.get<{ aliases: AliasView[] }>(`/models/${MODEL}/aliases`);
    expect(aliases.find((a) => a.alias === "staging")?.version).toBe(best.version);
    await bestRow.locator(".alias").getByText("staging").waitFor();

    // A second study, cancelled from its page while it runs.
    const { body: second } = await server.http.post<Study>("/studies", {
      name: "to-cancel",
      model: `${MODEL}-2`,
      dataset: study.dataset,
      target: "label",
      objective: { metric: "valLoss" },
      space: { layers: { choice: [[64, 64]] } },
      budget: { trials: 2, minEpochs: 400, maxEpochs: 400, maxConcurrent: 1 },
      scheduler: "random",
    });
    await page.goto(`${server.url}/ui/#/studies/${second.id}`);
    await page.getByRole("heading", { level: 1, name: "to-cancel" }).waitFor();
    await page.getByRole("button", { name: "Cancel study to-cancel", exact: true }).click();
    await page.getByRole("button", { name: "Cancel study to-cancel now" }).click();
    await page.locator("#study-status").getByText("cancelled").waitFor({ timeout: 60_000 });
    expect((await getStudy(second.id)).status).toBe("cancelled");
    await page.getByRole("button", { name: /^Cancel study/ }).waitFor({ state: "detached" });

    // The list: both studies, the first's figures.
    await page.goto(`${server.url}/ui/#/studies`);
    const first = page.locator(`tr[data-study="${id}"]`);
    await first.waitFor();
    expect(await first.locator('[data-label="trials done"]').textContent()).toBe("4 of 4");
    expect(await first.locator('[data-label="status"]').textContent()).toBe("succeeded");
    expect(
      await page.locator(`tr[data-study="${second.id}"] [data-label="status"]`).textContent(),
    ).toBe("cancelled");
    expect(problems.errors).toEqual([]);
    await page.context().close();

    // Every page in every look: one h1, nothing wider than the screen, no serious axe finding.
    for (const look of LOOKS) {
      const context = await browser.newContext({
        viewport: look.viewport,
        colorScheme: look.colorScheme,
      });
      const tab = await context.newPage();
      tab.setDefaultTimeout(10_000);
      const errors: string[] = [];
      tab.on("pageerror", (error) => errors.push(error.message));
      for (const [name, url, ready] of [
        ["studies", "#/studies", "table.studies tbody tr[data-study]"],
        ["study-new", `#/studies/new?dataset=${study.dataset}`, "#rung-preview"],
        ["study", `#/studies/${id}`, "#study-chart canvas"],
      ] as const) {
        await tab.goto(`${server.url}/ui/${url}`);
        await tab.locator(ready).first().waitFor();
        if (name === "study") await tab.locator("#study-events li.event").first().waitFor();
        expect(await tab.locator("h1").count(), `${name} ${look.name}`).toBe(1);
        const overflow = (await tab.evaluate(
          "document.documentElement.scrollWidth - document.documentElement.clientWidth",
        )) as number;
        expect(overflow, `${name} ${look.name} overflows sideways`).toBeLessThanOrEqual(0);
        await screenshot(tab, `${name}-${look.name}`);
        expect(await seriousViolations(tab), `${name} ${look.name}`).toEqual([]);
      }
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
