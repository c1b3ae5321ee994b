/**
 * The dashboard's Operate page in a real browser against a whole nnserve and a real database
 * (issues 23 and 27): a stored dataset scored as a batch job until its CSV downloads (the file
 * is the API's results, byte for byte), the drift table flagging a shifted feature above PSI
 * 0.2, and the live accuracy from feedback. The page is then screenshotted in four looks (light
 * and dark, wide and 360 px) and scanned with axe-core.
 */
import { readFile } from "node:fs/promises";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../src/engine/index.ts";
import type { DriftReport } from "../../src/prediction/drift/service.ts";
import type { Performance } from "../../src/prediction/feedback/schemas.ts";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import {
  LOOKS,
  launchBrowser,
  openPage,
  screenshot,
  seriousViolations,
} from "../helpers/browser.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { uploadCsv } from "../helpers/datasets.ts";
import { startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

const MODEL = "ops-ui";

let db: TestDatabase;
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({
    databaseUrl: db.url,
    env: { DRIFT_SAMPLE_RATE: "1", PREDICTION_LOG_RATE: "1" },
  });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
});

describe("the Operate page", () => {
  it("scores a dataset to a CSV download, flags a drifted feature, shows live accuracy; passes axe in four looks", {
    timeout: 180_000,
  }, async () => {
    const random = new Random(3);
    const lines = ["id,x,y"];
    for (let i = 0; i < 400; i++) {
      const x = random.normal();
      lines.push(`r${i},${x.toFixed(4)},${x > 0 ? "up" : "down"}`);
    }
    const dataset = await uploadCsv(server.url, MODEL, lines.join("\n"));
    const accepted = await server.http.post<TrainAccepted>("/train", {
      model: MODEL,
      dataset: dataset.id,
      target: "y",
      features: ["x"],
      network: {
        layers: [
          { units: 4, activation: "tanh" },
          { units: 2, activation: "softmax" },
        ],
      },
      loss: "sparseCategoricalCrossentropy",
      training: { epochs: 3, batchSize: 32, seed: 1 },
    });
    expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");

    // Live inputs far from the training data (x shifted by 3), and the truth for 100 of them.
    const shifted = Array.from({ length: 300 }, () => ({ x: random.normal() + 3 }));
    const answer = await server.http.post<PredictResponse>("/predict", {
      model: MODEL,
      inputs: shifted,
    });
    expect(answer.status).toBe(200);
    const ids = answer.body.predictionIds ?? [];
    expect(ids.length).toBe(300);
    // The drift counts and the prediction log are written in batches: wait until both show.
    await waitFor("the sampled rows", async () => {
      const { body } = await server.http.get<DriftReport>(
        `/models/${MODEL}/versions/1/drift?window=1h`,
      );
      return body.rows === 300 ? true : undefined;
    });
    await waitFor("the logged predictions", async () => {
      const { body } = await server.http.get<Performance>(
        `/models/${MODEL}/versions/1/performance?window=1d`,
      );
      return body.predictions === 300 ? true : undefined;
    });
    const feedback = await server.http.post(`/models/${MODEL}/feedback`, {
      items: ids.slice(0, 100).map((predictionId) => ({ predictionId, actual: "up" })),
    });
    expect(feedback.status, JSON.stringify(feedback.body)).toBe(200);
    const { body: live } = await server.http.get<Performance>(
      `/models/${MODEL}/versions/1/performance?window=1d`,
    );
    expect(live.withFeedback).toBe(100);

    const { page, problems } = await openPage(browser, { width: 1280, height: 900 });
    await page.goto(`${server.url}/ui/#/operate`);
    await page.getByRole("link", { name: MODEL }).click();
    await page.getByRole("heading", { level: 1, name: `Operate ${MODEL}` }).waitFor();

    // Drift: the shifted feature flagged, by word as well as colour.
    const row = page.getByRole("row", { name: /^x / });
    await row.waitFor();
    expect(await row.locator('[data-label="status"]').textContent()).toBe("drifted");
    await page.getByText("1 of 1 features above PSI 0.2.").waitFor();

    // Live accuracy: the API's figure, as a percentage, over the feedback sent.
    const accuracy = `${((live.accuracy ?? 0) * 100).toFixed(1)} %`;
    const figures = page.getByRole("region", { name: "Live accuracy" }).locator(".figures");
    expect(await figures.textContent()).toContain(`Accuracy${accuracy}`);
    await page.getByText("100 of 300 logged predictions with feedback in the last day.").waitFor();

    // Batch scoring to the download, which is the API's CSV.
    await page.getByLabel("Passthrough columns").fill("id");
    await page.getByRole("button", { name: "Score dataset" }).click();
    const download = page.getByRole("button", { name: "Download CSV" });
    await download.waitFor({ timeout: 60_000 }).catch(async (error) => {
      throw new Error(`${error}: ${await page.locator("#batch-status").textContent()}`);
    });
    const status = page.locator("#batch-status");
    expect(await status.textContent()).toContain("400 of 400 rows");
    expect(await status.locator("progress").getAttribute("value")).toBe("400");
    const saved = page.waitForEvent("download");
    await download.click();
    const file = await saved;
    expect(file.suggestedFilename()).toMatch(new RegExp(`^${MODEL}-v1-batch-[0-9a-f-]{36}\\.csv$`));
    const id = /batch-([0-9a-f-]{36})\.csv$/.exec(file.suggestedFilename())?.[1];
    const api = await fetch(`${server.url}/batch-predictions/${id}/results?format=csv`);
    const expected = await api.text();
    const got = await readFile((await file.path()) ?? "", "utf8");
    expect(got).toBe(expected);
    const csv = got.trim().split(/\r?\n/);
    expect(csv.length).toBe(401);
    expect(csv[0]?.startsWith("id,")).toBe(true);
    expect(csv[1]?.startsWith("r0,")).toBe(true);
    await screenshot(page, "operate-scored-light-wide");
    expect(problems.errors).toEqual([]);
    await page.context().close();

    // Both pages in every look: one h1, nothing wider than the screen, no serious axe finding.
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
        ["operate", "#/operate", ".card-list"],
        ["operate-model", `#/operate/${MODEL}`, "table.drift"],
      ] as const) {
        await tab.goto(`${server.url}/ui/${url}`);
        await tab.locator(ready).waitFor();
        if (name === "operate-model") await tab.locator(".figures").first().waitFor();
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
