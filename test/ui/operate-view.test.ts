/**
 * The dashboard's Operate page in a real browser against a whole nnserve and a real database:
 * scoring a stored dataset as a batch job until its CSV can be downloaded, the drift table
 * flagging a shifted feature above 0.2, and the live accuracy line.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../src/engine/index.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import { launchBrowser, openPage } from "../helpers/browser.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { uploadCsv } from "../helpers/datasets.ts";
import { startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";

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
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
});

describe("the Operate page", () => {
  it("scores a dataset to a CSV download, flags a drifted feature and shows live accuracy", async () => {
    const random = new Random(3);
    const lines = ["id,x,y"];
    for (let i = 0; i < 400; i++) {
      const x = random.normal();
      lines.push(`r${i},${x.toFixed(4)},${x > 0 ? "up" : "down"}`);
    }
    const dataset = await uploadCsv(server.url, "ops-ui", lines.join("\n"));
    const accepted = await server.http.post<TrainAccepted>("/train", {
      model: "ops-ui",
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
    // Live inputs far from the training data: x shifted by 3.
    const shifted = Array.from({ length: 300 }, () => ({ x: random.normal() + 3 }));
    expect((await server.http.post("/predict", { model: "ops-ui", inputs: shifted })).status).toBe(
      200,
    );

    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui/#/operate/ops-ui`);
    await page.getByRole("heading", { name: "Operate ops-ui" }).waitFor();
    const row = page.getByRole("row", { name: /^x/ });
    await row.waitFor();
    expect(await row.textContent()).toContain("drifted");
    await page.getByText(/of 300 logged predictions with feedback/).waitFor();

    await page.getByLabel("Passthrough columns").fill("id");
    await page.getByRole("button", { name: "Score dataset" }).click();
    await page.getByRole("button", { name: "Download CSV" }).waitFor({ timeout: 30_000 });
    expect(await page.locator("#batch-status").textContent()).toContain("400 of 400 rows");
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download CSV" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/^batch-.*\.csv$/);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  }, 90_000);
});
