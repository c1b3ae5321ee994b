import { api } from "./api.js";
import { announce, formatDuration, formatTime, h, heading, replace, statusBadge } from "./dom.js";
import { problemView } from "./try-it.js";

/** @typedef {import("./types.js").Job} Job */

const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];
const ACTIVE = new Set(["queued", "running"]);
/** The list refreshes only while a job on it can still change, and no faster than this. */
const REFRESH_MS = 3000;

/**
 * A succeeded job's bar is full, whether it ran every epoch or stopped early.
 * @param {Job} job
 * @param {string} [id]
 */
export function progressBar(job, id) {
  const { epoch, epochs } = job.progress;
  const done = job.status === "succeeded";
  return h(
    "progress",
    {
      id,
      max: epochs,
      value: done ? epochs : epoch,
      "data-epoch": epoch,
      "aria-label": done
        ? `complete at epoch ${epoch} of ${epochs}`
        : `epoch ${epoch} of ${epochs}`,
    },
    `${epoch} / ${epochs}`,
  );
}

/**
 * #/jobs?status=…: newest first, filtered by status, with cancel for queued and running ones.
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 * @param {AbortSignal} signal
 */
export async function jobsView(main, params, signal) {
  const asked = params.get("status") ?? "";
  const status = STATUSES.includes(asked) ? asked : "";
  const filter = h(
    "select",
    {
      id: "status-filter",
      onchange: (/** @type {Event} */ e) => {
        const value = /** @type {HTMLSelectElement} */ (e.target).value;
        location.hash = value ? `#/jobs?status=${value}` : "#/jobs";
      },
    },
    h("option", { value: "" }, "all"),
    STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)),
  );
  const body = h("tbody");
  const message = h("div", { "aria-live": "polite" });
  const table = h(
    "table",
    { class: "stack jobs" },
    h("caption", { class: "visually-hidden" }, "Training jobs, newest first"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        [
          "model",
          "version",
          "status",
          "progress",
          "attempts",
          "created",
          "started",
          "duration",
          "actions",
        ].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    body,
  );
  replace(
    main,
    h(
      "div",
      { class: "page-head" },
      heading("Jobs"),
      h("a", { class: "button primary", href: "#/train" }, "Train a model"),
    ),
    h(
      "div",
      { class: "toolbar" },
      h("div", { class: "field" }, h("label", { for: "status-filter" }, "Status"), filter),
    ),
    message,
    h("div", { class: "table-wrap" }, table),
  );

  const load = async () => {
    const query = new URLSearchParams({ limit: "50" });
    if (status) query.set("status", status);
    /** @type {{ items: Job[] }} */
    const page = await api("GET", `/jobs?${query}`);
    // Keep keyboard focus on the cancel button's row across a refresh.
    const row = document.activeElement?.closest("tr");
    const focused = row instanceof HTMLElement ? row.dataset.job : undefined;
    replace(
      body,
      page.items.length
        ? page.items.map((job) => jobRow(job, load, message))
        : h("tr", {}, h("td", { colspan: 9 }, "No jobs.")),
    );
    if (focused) {
      const again = body.querySelector(
        `tr[data-job="${focused}"] button, tr[data-job="${focused}"] a`,
      );
      if (again instanceof HTMLElement) again.focus();
    }
    return page.items.some((job) => ACTIVE.has(job.status));
  };

  let active = await load();
  while (active && !signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
    if (signal.aborted || document.hidden) continue;
    active = await load().catch(() => true);
  }
}

/**
 * @param {Job} job
 * @param {() => Promise<boolean>} reload
 * @param {HTMLElement} message
 */
function jobRow(job, reload, message) {
  const cancel = ACTIVE.has(job.status)
    ? h(
        "button",
        {
          type: "button",
          class: "quiet",
          "aria-label": `Cancel job of ${job.model} v${job.version}`,
        },
        job.cancelRequested ? "Cancelling…" : "Cancel",
      )
    : null;
  if (cancel && job.cancelRequested) cancel.disabled = true;
  cancel?.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      const updated = await api("POST", `/jobs/${job.id}/cancel`);
      announce(
        `Job of ${job.model} v${job.version}: ${updated.status === "cancelled" ? "cancelled" : "cancel requested"}`,
      );
      await reload();
    } catch (error) {
      cancel.disabled = false;
      replace(message, problemView(error));
    }
  });
  return h(
    "tr",
    { "data-job": job.id },
    h("td", { "data-label": "model" }, h("a", { href: `#/jobs/${job.id}` }, job.model)),
    h(
      "td",
      { "data-label": "version" },
      h("a", { href: `#/models/${encodeURIComponent(job.model)}` }, `v${job.version}`),
    ),
    h("td", { "data-label": "status" }, statusBadge(job.status)),
    h(
      "td",
      { "data-label": "progress" },
      progressBar(job),
      ` ${job.progress.epoch}/${job.progress.epochs}`,
      job.status === "succeeded" && job.stoppedEarly ? " (stopped early)" : "",
    ),
    h("td", { "data-label": "attempts" }, job.attempts),
    h("td", { "data-label": "created" }, formatTime(job.createdAt)),
    h("td", { "data-label": "started" }, formatTime(job.startedAt)),
    h("td", { "data-label": "duration" }, formatDuration(job.startedAt, job.finishedAt)),
    h("td", { "data-label": "actions" }, cancel),
  );
}
