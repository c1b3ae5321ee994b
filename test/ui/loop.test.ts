/**
 * The whole loop from the browser, as a new user does it (issue 27): upload a CSV, review the
 * inferred types, train, watch the curve, read the held-out evaluation, predict from the try-it
 * panel, promote the version to production, compare two versions. Every page is then opened in
 * four looks (light and dark, wide and 360 px), screenshotted into test-artifacts/ and scanned
 * with axe-core: no serious or critical violation anywhere.
 */
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import type { Model } from "../../src/versions/schemas.ts";
import {
  LOOKS,
  launchBrowser,
  openPage,
  screenshot,
  seriousViolations,
} from "../helpers/browser.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { irisCsv, uploadCsv } from "../helpers/datasets.ts";
import { startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";

const IRIS = fileURLToPath(new URL("../fixtures/iris.csv", import.meta.url));
const SPECIES = ["setosa", "versicolor", "virginica"];

let db: TestDatabase;
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
});

/** Fills the train form's architecture and training fields with a small, quick network. */
async function smallNetwork(page: Page, epochs: number) {
  await page.getByLabel("Layer 1 units").fill("8");
  await page.getByLabel("Layer 1 activation").selectOption("relu");
  await page.getByLabel("Learning rate").fill("0.05");
  await page.getByLabel("Epochs").fill(String(epochs));
  await page.getByLabel("Batch size").fill("16");
}

describe("the loop from a CSV to predictions, in the browser", () => {
  it("uploads, reviews types, trains, watches the curve, reads the evaluation, predicts, compares; every page passes axe in four looks", {
    timeout: 240_000,
  }, async () => {
    const { page, problems } = await openPage(browser, { width: 1280, height: 900 });
    const pages: { name: string; url: string; ready: string }[] = [];
    const remember = (name: string, ready: string) => pages.push({ name, url: page.url(), ready });

    // Upload: the file picker in the drop zone; the name comes from the file.
    await page.goto(`${server.url}/ui/#/datasets`);
    await page.getByRole("heading", { level: 1, name: "Datasets" }).waitFor();
    await page.getByLabel("CSV file").setInputFiles(IRIS);
    expect(await page.getByLabel("Dataset name").inputValue()).toBe("iris");
    await page.getByLabel("Dataset name").fill("iris-ui");
    await page.getByRole("button", { name: "Upload dataset" }).click();

    // Review: the inferred types, the statistics, the first rows of the file.
    await page.getByRole("heading", { level: 1, name: "iris-ui" }).waitFor();
    const datasetId = /#\/datasets\/([0-9a-f-]{36})$/.exec(page.url())?.[1];
    expect(datasetId).toBeDefined();
    const columns = page.locator("#columns");
    expect(await columns.getByLabel("Type of species").inputValue()).toBe("categorical");
    expect(await columns.getByLabel("Type of sepal_length").inputValue()).toBe("numeric");
    expect(await columns.locator('tr[data-column="species"] .bars li').count()).toBe(3);
    expect(
      await columns
        .locator('tr[data-column="petal_length"] [role="img"]')
        .getAttribute("aria-label"),
    ).toMatch(/^Histogram of petal_length: /);
    expect(await columns.locator('tr[data-column="sepal_length"] .range').textContent()).toContain(
      "min 4.3 · mean 5.843 · max 7.9",
    );
    expect(await page.locator("#preview tbody tr").count()).toBe(8);
    expect(await page.locator("#preview tbody tr").first().textContent()).toContain("setosa");
    await screenshot(page, "dataset-review-light-wide");
    remember("dataset", "#columns");

    // Train: from the dataset's page, an explicit small network (the default recipe has a test
    // of its own below).
    await page.getByRole("link", { name: "Train a model" }).click();
    await page.getByRole("heading", { level: 1, name: "Train a model" }).waitFor();
    expect(await page.getByLabel("Target column").inputValue()).toBe("species");
    expect(await page.locator("#task").textContent()).toContain("classification");
    expect(await page.locator("#task").textContent()).toContain("3 classes");
    await page.getByLabel("Model name").fill("iris-browser");
    await smallNetwork(page, 0);
    // A bad field: the server's message lands under it, and nothing is queued.
    await page.getByRole("button", { name: "Train", exact: true }).click();
    const epochsError = page.locator('[data-field="training.epochs"] .field-error');
    await epochsError.waitFor();
    expect(await epochsError.textContent()).toMatch(/epochs/);
    expect(await page.getByLabel("Epochs").getAttribute("aria-invalid")).toBe("true");
    expect((await server.http.get("/models/iris-browser")).status).toBe(404);
    await screenshot(page, "train-field-error-light-wide");
    remember("train", "#train-form");

    await page.getByLabel("Epochs").fill("60");
    await page.getByRole("button", { name: "Train", exact: true }).click();

    // The live job page: the curve grows, the job succeeds.
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
    await page.getByRole("heading", { level: 1, name: "Job: iris-browser v1" }).waitFor();
    await page.locator("#job-status").getByText("succeeded").waitFor({ timeout: 30_000 });
    await expect
      .poll(async () => Number(await page.locator("#chart-loss").getAttribute("data-points")))
      .toBe(60);
    expect(await page.locator("#chart-accuracy canvas").count()).toBe(1);
    expect(await page.locator("#job-progress-line").textContent()).toContain("Complete: 60 epochs");
    remember("job", "#chart-loss canvas");

    // The evaluation: the confusion matrix's counts are the held-back rows, per class.
    await page.getByRole("link", { name: "See the evaluation" }).click();
    await page.getByRole("heading", { level: 1, name: "iris-browser v1", exact: true }).waitFor();
    const model = (await server.http.get<Model>("/models/iris-browser")).body;
    const evaluation = model.versions[0]!.evaluation!;
    if (evaluation.task !== "classification") throw new Error("a classification expected");
    const matrix = page.locator("#confusion-matrix");
    await matrix.waitFor();
    const counts = (await matrix.locator("tbody td").allTextContents()).map(Number);
    expect(counts).toEqual(evaluation.confusionMatrix.matrix.flat());
    expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
    expect(await matrix.locator("thead th").allTextContents()).toEqual([
      "true ↓ / predicted →",
      ...evaluation.confusionMatrix.labels,
    ]);
    await page.getByLabel("Row-normalised").check();
    await page.locator('#confusion-matrix[data-mode="shares"]').waitFor();
    for (const row of await page.locator("#confusion-matrix tbody tr").all()) {
      const shares = (await row.locator("td").allTextContents()).map((t) => Number.parseFloat(t));
      expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
    }
    expect(await page.locator("#per-class tbody tr").count()).toBe(3);
    const setosa = page.locator("#per-class tbody tr").filter({ hasText: "setosa" });
    const expected = evaluation.classes.find((c) => c.label === "setosa")!;
    expect(await setosa.locator('td[data-label="recall"]').textContent()).toBe(
      expected.recall.toPrecision(3),
    );
    remember("version", "#confusion-matrix");

    // Predict from the panel: the answer is the API's.
    const row = { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 };
    const direct = await server.http.post<PredictResponse>("/predict", {
      model: "iris-browser",
      inputs: [row],
    });
    const answer = direct.body.predictions![0]!;
    if (!("label" in answer)) throw new Error("a label expected");
    expect(SPECIES).toContain(answer.label);
    const panel = page.getByRole("region", { name: "Try it: iris-browser v1" });
    for (const [name, value] of Object.entries(row)) {
      await panel.getByLabel(name).fill(String(value));
    }
    await panel.getByRole("button", { name: "Predict" }).click();
    await panel.locator(".predictions strong").getByText(answer.label).waitFor();

    // A second version, then the two compared: the epochs differ and are marked.
    const second = await server.http.post<TrainAccepted>("/train", {
      model: "iris-browser",
      dataset: datasetId,
      target: "species",
      network: {
        layers: [
          { units: 4, activation: "tanh" },
          { units: 3, activation: "softmax" },
        ],
      },
      loss: "categoricalCrossentropy",
      optimizer: { name: "adam", learningRate: 0.05 },
      training: { epochs: 30, batchSize: 16, validationSplit: 0.2, testSplit: 0.2, seed: 3 },
    });
    expect(second.status).toBe(202);
    expect((await waitForJob(server.http, second.body.jobId)).status).toBe("succeeded");
    await page.goto(`${server.url}/ui/#/models/iris-browser`);
    await page.getByRole("heading", { level: 1, name: "iris-browser", exact: true }).waitFor();
    remember("model", "table.stack");
    // A new version starts from the same dataset and name.
    expect(await page.getByRole("link", { name: "Train a new version" }).getAttribute("href")).toBe(
      `#/train?model=iris-browser&dataset=${datasetId}`,
    );
    // Promote the version whose evaluation was read: after the confirmation with a reason,
    // unpinned predictions go to v1 through the alias production, though v2 is newer.
    const live = page.getByRole("region", { name: "Going live" });
    await live.getByRole("button", { name: "Promote v1", exact: true }).click();
    await live.getByLabel("Reason (kept in the history)").fill("its evaluation was read");
    await live.getByRole("button", { name: "Promote", exact: true }).click();
    await live.getByRole("status").getByText("v1 is now production.").waitFor();
    const routed = await server.http.post<PredictResponse>("/predict", {
      model: "iris-browser",
      inputs: [row],
    });
    expect(routed.body.version).toBe(1);
    expect(routed.body.alias).toBe("production");
    await page.getByRole("button", { name: "Compare" }).click();
    await page.getByRole("heading", { level: 1, name: "iris-browser: v1 and v2" }).waitFor();
    const epochsRow = page.locator("tr.changed").filter({ hasText: "epochs" }).first();
    expect(await epochsRow.locator("td").allTextContents()).toEqual(["60", "30"]);
    expect(await page.locator("tr.changed").filter({ hasText: "network" }).count()).toBe(1);
    expect(await page.locator("tr:not(.changed)").filter({ hasText: "batch size" }).count()).toBe(
      1,
    );
    // Both versions' loss and validation loss on one chart.
    await page.locator("#compare-charts figure canvas").first().waitFor();
    expect(await page.locator("#compare-charts figure").first().getAttribute("data-series")).toBe(
      "4",
    );
    remember("compare", "#compare-charts canvas");

    await page.goto(`${server.url}/ui/#/models`);
    await page.getByRole("heading", { level: 1, name: "Models" }).waitFor();
    remember("models", ".card");
    await page.goto(`${server.url}/ui/#/jobs`);
    await page.getByRole("heading", { level: 1, name: "Jobs" }).waitFor();
    remember("jobs", "tbody tr[data-job]");
    await page.goto(`${server.url}/ui/#/datasets`);
    await page.getByRole("heading", { level: 1, name: "Datasets" }).waitFor();
    remember("datasets", "#datasets tbody tr[data-dataset]");
    expect(problems.errors).toEqual([]);
    await page.context().close();

    // Every page in every look: one h1, a screenshot, no serious or critical axe violation. The
    // dataset page is opened from a fresh tab here, so it shows what any later visit shows.
    for (const look of LOOKS) {
      const context = await browser.newContext({
        viewport: look.viewport,
        colorScheme: look.colorScheme,
      });
      const tab = await context.newPage();
      tab.setDefaultTimeout(10_000);
      const errors: string[] = [];
      tab.on("pageerror", (error) => errors.push(error.message));
      for (const { name, url, ready } of pages) {
        await tab.goto(url);
        await tab.locator(ready).first().waitFor();
        expect(await tab.locator("h1").count(), `${name} ${look.name}`).toBe(1);
        // Nothing wider than the screen: a 360 px phone scrolls down, not sideways.
        // Page-side code as text: the tests are type-checked without the DOM's types.
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

  it("changes an inferred type before training by sending the file again with the chosen types", {
    timeout: 60_000,
  }, async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui/#/datasets`);
    // A file the server refuses: its message, with the field path, under the form.
    await page.getByLabel("CSV file").setInputFiles({
      name: "bad.csv",
      mimeType: "text/csv",
      buffer: Buffer.from("price,price\n1,2\n"),
    });
    await page.getByRole("button", { name: "Upload dataset" }).click();
    await page
      .locator("#upload-form")
      .getByRole("alert")
      .locator("code")
      .getByText("header[1]")
      .waitFor();
    const listed = await server.http.get<{ items: { name: string }[] }>("/datasets?limit=100");
    expect(listed.body.items.map((d) => d.name)).not.toContain("bad");

    const csv = ["zip,rooms,price", "10115,2,300", "20095,3,420", "10115,4,610", "80331,1,210"];
    await page.getByLabel("CSV file").setInputFiles({
      name: "homes.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(csv.join("\n")),
    });
    await page.getByRole("button", { name: "Upload dataset" }).click();
    await page.getByRole("heading", { level: 1, name: "homes" }).waitFor();
    const first = /#\/datasets\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    expect(await page.getByLabel("Type of zip").inputValue()).toBe("numeric");

    await page.getByLabel("Type of zip").selectOption("categorical");
    await page.getByRole("button", { name: "Apply types" }).click();
    await page.waitForURL(
      (url) => !url.hash.endsWith(first) && /#\/datasets\/[0-9a-f-]{36}$/.test(url.hash),
    );
    await page.getByRole("heading", { level: 1, name: "homes" }).waitFor();
    const id = /#\/datasets\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    const stored = await server.http.get<{ columns: { name: string; type: string }[] }>(
      `/datasets/${id}`,
    );
    expect(stored.body.columns.map((c) => [c.name, c.type])).toEqual([
      ["zip", "categorical"],
      ["rooms", "numeric"],
      ["price", "numeric"],
    ]);
    expect(await page.locator('tr[data-column="zip"] .bars li').count()).toBe(3);
    // The first upload is gone: one dataset, with the chosen types.
    expect((await server.http.get(`/datasets/${first}`)).status).toBe(404);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });

  it('trains with the default recipe: the dataset and target with network "auto"', {
    timeout: 120_000,
  }, async () => {
    const dataset = await uploadCsv(server.url, "iris-recipe", await irisCsv());
    const { page, problems } = await openPage(browser);
    const sent: unknown[] = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/train")) sent.push(request.postDataJSON());
    });
    await page.goto(`${server.url}/ui/#/train?dataset=${dataset.id}`);
    await page.getByRole("heading", { level: 1, name: "Train a model" }).waitFor();
    await page.getByLabel("Model name").fill("iris-recipe");
    await page.getByRole("button", { name: "Use the default recipe" }).click();
    // The server picks the network (issue 21's recipe) and the job page opens.
    await page.getByRole("heading", { level: 1, name: /^Job: iris-recipe/ }).waitFor();
    expect(sent).toEqual([
      {
        model: "iris-recipe",
        dataset: dataset.id,
        target: "species",
        network: "auto",
        training: { testSplit: 0.2 },
      },
    ]);
    const jobId = decodeURIComponent(new URL(page.url()).hash.split("/").pop() ?? "");
    expect((await waitForJob(server.http, jobId)).status).toBe("succeeded");
    const model = await server.http.get<Model>("/models/iris-recipe");
    expect(model.body.versions[0]?.evaluation?.task).toBe("classification");
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });
});

describe("the datasets list and the architecture editor", () => {
  it("deletes a dataset from the list only after confirming", { timeout: 60_000 }, async () => {
    const dataset = await uploadCsv(server.url, "to-delete", "a,b\n1,x\n2,y\n");
    const { page, problems } = await openPage(browser, { width: 360, height: 780 });
    await page.goto(`${server.url}/ui/#/datasets`);
    const row = page.locator(`tr[data-dataset="${dataset.id}"]`);
    await row.waitFor();
    await row.getByRole("button", { name: "Delete to-delete", exact: true }).click();
    await row.getByRole("button", { name: "Keep it" }).click();
    expect((await server.http.get(`/datasets/${dataset.id}`)).status).toBe(200);
    await row.getByRole("button", { name: "Delete to-delete", exact: true }).click();
    await row.getByRole("button", { name: "Delete to-delete now" }).click();
    await row.waitFor({ state: "detached" });
    expect((await server.http.get(`/datasets/${dataset.id}`)).status).toBe(404);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });

  it("uploads a CSV dropped on the drop zone", { timeout: 60_000 }, async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui/#/datasets`);
    await page.getByRole("heading", { level: 1, name: "Datasets" }).waitFor();
    // A drop as the browser delivers it: a DataTransfer holding the file (page-side code as
    // text, the tests being type-checked without the DOM's types).
    await page.evaluate(`(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(["size,colour\\n1,red\\n2,blue\\n3,red\\n"], "dropped.csv", { type: "text/csv" }));
      const zone = document.querySelector(".dropzone");
      zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
    expect(await page.getByLabel("Dataset name").inputValue()).toBe("dropped");
    await page.getByRole("button", { name: "Upload dataset" }).click();
    await page.getByRole("heading", { level: 1, name: "dropped" }).waitFor();
    expect(await page.getByLabel("Type of colour").inputValue()).toBe("categorical");
    expect(await page.locator("#preview tbody tr").count()).toBe(3);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });

  it("adds and removes hidden layers and sends them before the output layer the target sets", {
    timeout: 90_000,
  }, async () => {
    const dataset = await uploadCsv(server.url, "iris-layers", await irisCsv());
    const { page, problems } = await openPage(browser);
    const sent: Record<string, unknown>[] = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/train")) sent.push(request.postDataJSON());
    });
    await page.goto(`${server.url}/ui/#/train?dataset=${dataset.id}`);
    await page.getByRole("heading", { level: 1, name: "Train a model" }).waitFor();
    await page.getByLabel("Model name").fill("iris-layers");
    await page.getByRole("button", { name: "Add layer" }).click();
    await page.getByRole("button", { name: "Add layer" }).click();
    await page.getByLabel("Layer 2 units").fill("6");
    await page.getByLabel("Layer 2 activation").selectOption("tanh");
    await page.getByLabel("Layer 3 units").fill("5");
    await page.getByRole("button", { name: "Remove layer 1" }).click();
    // What was layer 2 is layer 1 now, labels and all.
    expect(await page.getByLabel("Layer 1 units").inputValue()).toBe("6");
    expect(await page.getByLabel("Layer 2 units").inputValue()).toBe("5");
    await page.getByLabel("Epochs").fill("5");
    await page.getByLabel("Early stopping patience").fill("3");
    await page.getByRole("button", { name: "Train", exact: true }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      model: "iris-layers",
      dataset: dataset.id,
      target: "species",
      network: {
        layers: [
          { units: 6, activation: "tanh" },
          { units: 5, activation: "relu" },
          { units: 3, activation: "softmax" },
        ],
      },
      loss: "categoricalCrossentropy",
      training: {
        epochs: 5,
        validationSplit: 0.2,
        testSplit: 0.2,
        earlyStopping: { patience: 3, monitor: "valLoss", restoreBestWeights: true },
      },
    });
    const id = /#\/jobs\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    expect((await waitForJob(server.http, id)).status).toBe("succeeded");
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });
});

describe("a two-class version's evaluation", () => {
  it("shows its ROC and precision-recall curves with their areas", {
    timeout: 90_000,
  }, async () => {
    // Churn from tenure: short tenures churn, with an overlap so the curves are not trivial.
    const lines = ["tenure,plan,churned"];
    for (let i = 0; i < 160; i++) {
      const tenure = i % 40;
      const churned = tenure < 15 || (tenure < 25 && i % 3 === 0) ? "yes" : "no";
      lines.push(`${tenure},${i % 2 ? "basic" : "pro"},${churned}`);
    }
    const dataset = await uploadCsv(server.url, "churn", lines.join("\n"));
    const accepted = await server.http.post<TrainAccepted>("/train", {
      model: "churn",
      dataset: dataset.id,
      target: "churned",
      network: {
        layers: [
          { units: 8, activation: "relu" },
          { units: 2, activation: "softmax" },
        ],
      },
      loss: "categoricalCrossentropy",
      optimizer: { name: "adam", learningRate: 0.05 },
      training: { epochs: 40, batchSize: 16, seed: 5, testSplit: 0.25 },
    });
    expect(accepted.status).toBe(202);
    expect((await waitForJob(server.http, accepted.body.jobId)).status).toBe("succeeded");
    const version = (await server.http.get<Model>("/models/churn")).body.versions[0]!;
    const evaluation = version.evaluation!;
    if (evaluation.task !== "classification" || !evaluation.curves) {
      throw new Error("a two-class evaluation with curves expected");
    }
    expect(evaluation.curves.positive).toBe("yes");

    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui/#/models/churn/versions/1`);
    await page.locator("#chart-roc canvas").waitFor();
    await page.locator("#chart-pr canvas").waitFor();
    expect(await page.locator("#chart-roc").getAttribute("data-points")).toBe(
      String(evaluation.curves.roc.length),
    );
    const figures = page.locator("#evaluation .figures").last();
    expect(await figures.locator("dt").allTextContents()).toEqual(["ROC AUC", "Average precision"]);
    expect(await figures.locator("dd").first().textContent()).toBe(
      evaluation.curves.auc.toPrecision(3),
    );
    await screenshot(page, "version-binary");
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });
});

describe("a regressor and an early stop, as the pages read them", () => {
  it("names the target and its units in the evaluation, the curves and the answer, and calls an early stop complete", {
    timeout: 90_000,
  }, async () => {
    // Doctor visits a year from age: a straight line with a little noise, in visits.
    const lines = ["age,smoker,visits"];
    for (let i = 0; i < 120; i++) {
      const age = 20 + (i % 60);
      const smoker = i % 3 === 0 ? "yes" : "no";
      const visits = 1 + age * 0.1 + (smoker === "yes" ? 2 : 0) + ((i * 7) % 5) * 0.1;
      lines.push(`${age},${smoker},${visits.toFixed(2)}`);
    }
    const dataset = await uploadCsv(server.url, "visits", lines.join("\n"));
    const accepted = await server.http.post<TrainAccepted>("/train", {
      model: "visits",
      dataset: dataset.id,
      target: "visits",
      network: {
        layers: [
          { units: 8, activation: "relu" },
          { units: 1, activation: "linear" },
        ],
      },
      loss: "mse",
      optimizer: { name: "adam", learningRate: 0.05 },
      // A minDelta no epoch can beat: training stops after the first epoch without it.
      training: {
        epochs: 200,
        batchSize: 16,
        seed: 4,
        testSplit: 0.25,
        earlyStopping: { monitor: "loss", patience: 1, minDelta: 1e9 },
      },
    });
    expect(accepted.status).toBe(202);
    const job = await waitForJob(server.http, accepted.body.jobId);
    expect(job.status).toBe("succeeded");
    expect(job.progress.epoch).toBeLessThan(200);
    const version = (await server.http.get<Model>("/models/visits")).body.versions[0]!;
    const evaluation = version.evaluation!;
    if (evaluation.task !== "regression") throw new Error("a regression expected");
    const target = version.preprocessing!.target;
    if (target.type !== "numeric") throw new Error("a numeric target expected");

    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui/#/jobs/${job.id}`);
    await page.locator("#job-status").getByText("succeeded").waitFor();
    const line = await page.locator("#job-progress-line").textContent();
    // The job reports an early stop as complete (issue 21): epoch of epoch, stoppedEarly.
    expect(job.stoppedEarly).toBe(true);
    expect(job.progress.epochs).toBe(job.progress.epoch);
    expect(line).toContain(`Complete: stopped early at epoch ${job.progress.epoch}`);
    expect(line).not.toContain("of 200");
    expect(await page.getByRole("button", { name: "Cancel job" }).isVisible()).toBe(false);
    // The bar is full: the job is done, not a fraction of the way.
    expect(await page.locator("#job-progress").getAttribute("value")).toBe(
      String(job.progress.epochs),
    );
    expect(await page.locator("#job-progress").getAttribute("max")).toBe(
      String(job.progress.epochs),
    );
    // The MAE curve in visits: the stored (scaled) MAE times the target's scale.
    await page.locator("#chart-mae figcaption").getByText("Mean absolute error (visits)").waitFor();
    const latest = await page.locator("#chart-mae .chart-latest").textContent();
    const shownMae = Number(/MAE ([0-9.e+-]+)/.exec(latest ?? "")?.[1]);
    expect(shownMae).toBeCloseTo(job.metrics!.mae! * target.scale, 3);
    await screenshot(page, "job-early-stop");
    // The system turning dark redraws the canvases in the dark theme's colours, data and all.
    expect(await page.locator("#chart-loss").getAttribute("data-drawn-for")).toBe("light");
    await page.emulateMedia({ colorScheme: "dark" });
    await page.locator('#chart-loss[data-drawn-for="dark"]').waitFor();
    await page.locator('#chart-mae[data-drawn-for="dark"]').waitFor();
    expect(await page.locator("#chart-loss canvas").count()).toBe(1);
    await screenshot(page, "job-early-stop-dark");
    await page.emulateMedia({ colorScheme: "light" });

    await page.goto(`${server.url}/ui/#/models/visits/versions/1`);
    const figures = page.locator("#evaluation .figures");
    await figures.waitFor();
    expect(await figures.locator("dt").allTextContents()).toEqual([
      "MAE (visits)",
      "RMSE (visits)",
      "R²",
      "Test rows",
    ]);
    expect(await figures.locator("dd").first().textContent()).toBe(evaluation.mae.toPrecision(4));
    expect(await figures.locator("dd").last().textContent()).toBe("30");
    // Predicted against actual and the residuals, one dot per kept test row.
    expect(evaluation.points?.actual).toHaveLength(30);
    for (const chart of ["#chart-predicted-actual", "#chart-residuals"]) {
      await page.locator(`${chart} canvas`).waitFor();
      expect(await page.locator(chart).getAttribute("data-points")).toBe("30");
    }

    const panel = page.getByRole("region", { name: "Try it: visits v1" });
    await panel.getByLabel("age").fill("50");
    await panel.getByLabel("smoker").selectOption("no");
    const direct = await server.http.post<PredictResponse>("/predict", {
      model: "visits",
      inputs: [{ age: 50, smoker: "no" }],
    });
    const value = (direct.body.predictions![0] as { value: number }).value;
    await panel.getByRole("button", { name: "Predict" }).click();
    await panel.locator(".predictions li").waitFor();
    expect(await panel.locator(".predictions li").textContent()).toBe(
      `visits: ${value.toPrecision(4)}`,
    );
    await screenshot(page, "version-regressor");
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });
});
