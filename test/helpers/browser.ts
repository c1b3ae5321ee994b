/**
 * Debian's Chromium (/usr/bin/chromium, installed by .ci/run when missing) driven by
 * playwright-core, for the dashboard's browser tests. Screenshots go to test-artifacts/
 * (gitignored), where a failed run can be looked at.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export interface PageProblems {
  /** Console errors, uncaught exceptions and CSP violations the page reported. */
  errors: string[];
}

/** A new page that records what went wrong in it (console errors, page errors, CSP reports). */
export async function openPage(browser: Browser, viewport = { width: 1200, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  // Fail with the locator that did not show, well inside the test's own timeout.
  page.setDefaultTimeout(10_000);
  const problems: PageProblems = { errors: [] };
  page.on("console", (message) => {
    // The browser logs every 4xx answer; the page shows those itself (and the tests check it).
    const answered = message
      .text()
      .startsWith("Failed to load resource: the server responded with a status of 4");
    if (message.type() === "error" && !answered) {
      problems.errors.push(`console: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => problems.errors.push(`page: ${error.message}`));
  // Page-side code, as text: this file is type-checked without the DOM's types.
  await page.addInitScript(`document.addEventListener("securitypolicyviolation", (event) => {
    console.error("CSP violation: " + event.violatedDirective + " " + event.blockedURI);
  });`);
  return { page, problems };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * axe-core's scan of the page as it is now: the serious and critical violations. The source is
 * evaluated through the DevTools protocol (the page's CSP would block an injected script tag,
 * and the tests keep that CSP on).
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  const { default: axe } = await import("axe-core");
  await page.evaluate(axe.source);
  const violations = (await page.evaluate(`(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(" ")),
    }));
  })()`)) as AxeViolation[];
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** The four looks every page is checked in: light and dark, wide and 360 px narrow. */
export const LOOKS = [
  { name: "light-wide", colorScheme: "light", viewport: { width: 1280, height: 900 } },
  { name: "dark-wide", colorScheme: "dark", viewport: { width: 1280, height: 900 } },
  { name: "light-narrow", colorScheme: "light", viewport: { width: 360, height: 780 } },
  { name: "dark-narrow", colorScheme: "dark", viewport: { width: 360, height: 780 } },
] as const;
