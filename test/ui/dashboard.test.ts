/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a whole
 * nnserve on a port and a real database: a job's curves drawn live from the event stream, its
 * status turning to succeeded, a prediction from the try-it panel, the jobs list (filter,
 * cancel) and the models list (layer diagram, delete with confirmation), under the UI's CSP.
 */
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyStore } from "../../src/auth/key-store.ts";
import type { PredictResponse } from "../../src/prediction/request.ts";
import type { TrainAccepted } from "../../src/training/request.ts";
import { launchBrowser, openPage, screenshot } from "../helpers/browser.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { uploadCsv } from "../helpers/datasets.ts";
import { quickXorRequest, slowRequest } from "../helpers/requests.ts";
import { startTestServer, type TestServer, waitForJob } from "../helpers/server.ts";

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

async function submit(body: unknown) {
  const response = await server.http.post<TrainAccepted>("/train", body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body.jobId;
}

describe("the dashboard at /ui", () => {
  it("serves its page, scripts and uPlot itself, under a CSP of 'self' only", async () => {
    const redirect = await fetch(`${server.url}/ui`, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("/ui/");
    const page = await fetch(`${server.url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("https:");
    // Nothing asks the browser to fetch the page's assets over https: the dashboard works over
    // plain HTTP by host name as well as on localhost.
    expect(csp).not.toContain("upgrade-insecure-requests");
    expect(page.headers.get("strict-transport-security") ?? "").not.toContain("preload");
    const uplot = await fetch(`${server.url}/ui/vendor/uplot/uPlot.esm.js`);
    expect(uplot.status).toBe(200);
    expect(uplot.headers.get("content-type")).toMatch(/javascript/);
    // Only the two files the page needs are served from the package.
    expect((await fetch(`${server.url}/ui/vendor/uplot/uPlot.cjs.js`)).status).toBe(404);
    // The API keeps helmet's own CSP.
    const api = await fetch(`${server.url}/jobs`);
    expect(api.headers.get("content-security-policy")).not.toBe(csp);

    // The browser enforces it: an inline script injected into the page does not run, and the
    // violation is reported (which every other test here would fail on).
    const { page: browserPage, problems } = await openPage(browser);
    await browserPage.goto(`${server.url}/ui/#/models`);
    await browserPage.getByRole("heading", { name: "Models" }).waitFor();
    expect(problems.errors).toEqual([]);
    const ran = await browserPage.evaluate(`(() => {
      const script = document.createElement("script");
      script.textContent = "window.injected = true";
      document.head.append(script);
      return window.injected === true;
    })()`);
    expect(ran).toBe(false);
    await expect.poll(() => problems.errors.join()).toContain("CSP violation: script-src");
    await browserPage.context().close();
  });

  it("draws a job's curves live as epochs finish, shows it succeed, then predicts from the panel", async () => {
    // The one training thread is busy, so the job waits in the queue until the page watches it.
    const blocker = await submit(slowRequest("ui-blocker", 10_000));
    await waitForJob(server.http, blocker, (job) => job.status === "running");
    // About 2 ms an epoch in the thread: a few seconds of training to watch.
    const epochs = 1_200;
    const request = slowRequest("ui-live", epochs);
    const id = await submit({
      ...request,
      training: { ...request.training, validationSplit: 0.25 },
    });
    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui/#/jobs/${id}`);
    await page.getByRole("heading", { name: "Job: ui-live v1" }).waitFor();
    await page.locator("#job-status").getByText("queued").waitFor();
    expect((await server.http.post(`/jobs/${blocker}/cancel`)).status).toBe(202);

    const points = async (chart: string) =>
      Number(await page.locator(`#${chart}`).getAttribute("data-points"));
    // Points arrive while the job is still running: the chart grows without a reload.
    await expect.poll(() => points("chart-loss"), { timeout: 10_000 }).toBeGreaterThan(0);
    const early = await points("chart-loss");
    const statusEarly = await page.locator("#job-status").textContent();
    expect(early).toBeLessThan(epochs);
    expect(statusEarly).toContain("running");
    await expect.poll(() => points("chart-loss"), { timeout: 10_000 }).toBeGreaterThan(early);

    await page.locator("#job-status").getByText("succeeded").waitFor({ timeout: 20_000 });
    await expect.poll(() => points("chart-loss")).toBe(epochs);
    expect(await points("chart-accuracy")).toBe(epochs);
    // uPlot drew both series (loss and val loss) into a canvas.
    expect(await page.locator("#chart-loss canvas").count()).toBe(1);
    // The legend names the two series, with no "epoch: --" placeholder values.
    await expect.poll(() => page.locator("#chart-loss .u-legend .u-series").count()).toBe(2);
    expect(await page.locator("#chart-loss .u-legend").textContent()).not.toContain("--");
    expect(await page.locator("#job-progress").getAttribute("value")).toBe(String(epochs));

    // The try-it panel of the version this job trained: two rows in, two outputs and classes out.
    const panel = page.getByRole("region", { name: "Try it: ui-live v1" });
    await panel.getByLabel("Input rows").fill("0, 0\n0.9, 0.1");
    await panel.getByRole("button", { name: "Predict" }).click();
    const rows = panel.locator("table.outputs tbody tr");
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(0).locator(".output-values").textContent()).toMatch(/^\d\.\d+/);

    // A bad row is answered with the API's field path, and nothing else happens.
    await panel.getByLabel("Input rows").fill("0, 0, 7");
    await panel.getByRole("button", { name: "Predict" }).click();
    await panel.getByRole("alert").getByText("inputs[0]").waitFor();

    const shot = await screenshot(page, "job-page");
    expect(existsSync(shot)).toBe(true);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });

  it("lists jobs by status and cancels a running one; lists models and deletes one after confirming", async () => {
    const done = await submit(quickXorRequest("ui-delete"));
    await waitForJob(server.http, done);
    const running = await submit(slowRequest("ui-cancel", 10_000));
    await waitForJob(server.http, running, (job) => job.status === "running");

    // A phone-sized screen: the table stacks, every control still reachable.
    const { page, problems } = await openPage(browser, { width: 390, height: 800 });
    await page.goto(`${server.url}/ui/#/jobs`);
    await page.getByLabel("Status").selectOption("running");
    await page.waitForURL(/#\/jobs\?status=running$/);
    const row = page.locator(`tr[data-job="${running}"]`);
    await row.waitFor();
    expect(await page.locator("tbody tr").count()).toBe(1);
    await row.getByRole("button", { name: "Cancel job of ui-cancel v1" }).click();
    await page
      .getByRole("status")
      .getByText(/cancel/)
      .waitFor();
    expect((await waitForJob(server.http, running)).status).toBe("cancelled");

    await page.getByRole("link", { name: "Models" }).click();
    const card = page.locator('li[data-model="ui-delete"]');
    await card.waitFor();
    // The layer diagram: 2 inputs, 8 tanh, 1 sigmoid.
    expect(await card.getByRole("list", { name: /Network/ }).getAttribute("aria-label")).toBe(
      "Network: 2 inputs, then 8 tanh, then 1 sigmoid",
    );
    expect(await card.locator(".metrics").textContent()).toContain("loss");

    // Delete is a quiet button that asks first: keeping the model deletes nothing; confirming
    // deletes it.
    await card.getByRole("button", { name: "Delete ui-delete", exact: true }).click();
    await card
      .getByRole("group", { name: "Delete ui-delete?" })
      .getByText(/cannot be undone/)
      .waitFor();
    await card.getByRole("button", { name: "Keep it" }).click();
    expect(
      await card.getByRole("button", { name: "Delete ui-delete", exact: true }).isVisible(),
    ).toBe(true);
    expect((await server.http.get("/models/ui-delete")).status).toBe(200);
    await card.getByRole("button", { name: "Delete ui-delete", exact: true }).click();
    await card.getByRole("button", { name: "Delete ui-delete now" }).click();
    await card.waitFor({ state: "detached" });
    expect((await server.http.get("/models/ui-delete")).status).toBe(404);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });
});

describe("the try-it panel on a model trained from a dataset", () => {
  it("shows a labelled field per feature, sends one object keyed by name, and shows the label", async () => {
    // A small dataset with a numeric and a categorical feature: red flowers are "a", the others
    // "b" or "c" by petal length.
    const colors = ["red", "blue", "white"];
    const lines = ["petal length,color,species"];
    for (let i = 0; i < 90; i++) {
      const length = 1 + (i % 30) * 0.2;
      const color = colors[i % 3]!;
      lines.push(`${length.toFixed(1)},${color},${color === "red" ? "a" : length > 4 ? "b" : "c"}`);
    }
    const dataset = await uploadCsv(server.url, "flowers", lines.join("\n"));
    const jobId = await submit({
      model: "ui-features",
      dataset: dataset.id,
      target: "species",
      network: {
        layers: [
          { units: 8, activation: "relu" },
          { units: 3, activation: "softmax" },
        ],
      },
      loss: "categoricalCrossentropy",
      optimizer: { name: "adam", learningRate: 0.05 },
      training: { epochs: 60, batchSize: 16, seed: 2, testSplit: 0.2 },
    });
    expect((await waitForJob(server.http, jobId)).status).toBe("succeeded");
    const row = { "petal length": 4.6, color: "blue" };
    const direct = await server.http.post<PredictResponse>("/predict", {
      model: "ui-features",
      inputs: [row],
    });
    const expected = direct.body.predictions![0]!;
    if (!("label" in expected)) throw new Error("a classifier's prediction expected");

    const { page, problems } = await openPage(browser);
    const sent: unknown[] = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/predict")) sent.push(request.postDataJSON());
    });
    await page.goto(`${server.url}/ui/#/models/ui-features`);
    const panel = page.getByRole("region", { name: "Try it: ui-features v1" });
    expect(await panel.getByLabel("petal length").getAttribute("type")).toBe("number");
    // The categories in the dataset's own order (first appearance), not sorted.
    await panel.locator('fieldset[data-ordered="true"]').waitFor();
    expect(await panel.getByLabel("color").locator("option").allTextContents()).toEqual(colors);
    await panel.getByLabel("color").selectOption("blue");
    // From the keyboard: Enter in a field submits the form.
    await panel.getByLabel("petal length").fill("4.6");
    await panel.getByLabel("petal length").press("Enter");
    await panel.locator(".predictions").getByText(expected.label).first().waitFor();
    const shown = await panel.locator(".predictions").textContent();
    // Shown as "b (a: 0.000138, b: 1.00, c: 0.0000153)": three significant digits.
    expect(shown?.startsWith(`${expected.label} (`)).toBe(true);
    for (const [label, p] of Object.entries(expected.probabilities)) {
      const value = new RegExp(`\\b${label}: ([0-9.e-]+)`).exec(shown ?? "")?.[1];
      expect(Number(value), label).toBeCloseTo(p, 3);
    }
    expect(sent).toEqual([{ model: "ui-features", version: 1, inputs: [row] }]);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });
});

describe("the dashboard with AUTH on", () => {
  let authServer: TestServer;
  beforeAll(async () => {
    // An API-only replica with AUTH on, on the same database: the first server trains the jobs.
    authServer = await startTestServer({
      databaseUrl: db.url,
      env: { AUTH: "on" },
      runJobs: false,
    });
  });
  afterAll(async () => {
    await authServer?.close();
  });

  it("asks for the key, then sends what was typed as Bearer on every call and on the event stream", async () => {
    const { key } = await createKeyStore({ db }).create({ name: "ui-test", scopes: ["admin"] });
    const bearer = { authorization: `Bearer ${key}` };
    const accepted = await authServer.http.post<TrainAccepted>(
      "/train",
      quickXorRequest("ui-auth"),
      bearer,
    );
    expect(accepted.status).toBe(202);
    const id = accepted.body.jobId;

    const { page, problems } = await openPage(browser);
    await page.goto(`${authServer.url}/ui/#/jobs`);
    // The page loads without a key; the API refuses it, and the page says so.
    await page
      .getByRole("alert")
      .getByText(/API key/)
      .waitFor();
    expect(await page.getByLabel("API key").getAttribute("aria-invalid")).toBe("true");

    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Use key" }).click();
    await page.locator(`tr[data-job="${id}"]`).getByRole("link", { name: "ui-auth" }).click();
    await page.locator("#job-status").getByText("succeeded").waitFor({ timeout: 20_000 });
    expect(await page.locator("#chart-loss").getAttribute("data-points")).toBe("80");
    expect(await page.evaluate(() => sessionStorage.getItem("nnserve.apiKey"))).toBe(key);

    const panel = page.getByRole("region", { name: "Try it: ui-auth v1" });
    await panel.getByLabel("Input rows").fill("0 1");
    await panel.getByRole("button", { name: "Predict" }).click();
    await expect.poll(() => panel.locator("table.outputs tbody tr").count()).toBe(1);
    expect(await panel.locator("table.outputs td").nth(2).textContent()).toBe("1");

    // Forgetting the key: the next call is refused again.
    await page.getByRole("button", { name: "Forget" }).click();
    await page
      .getByRole("alert")
      .getByText(/API key/)
      .waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("nnserve.apiKey"))).toBeNull();
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });
});
