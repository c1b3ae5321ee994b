import { api } from "./api.js";
import { announce, formatDuration, formatTime, h, replace, statusBadge } from "./dom.js";
import { problemView } from "./try-it.js";

const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];
const ACTIVE = new Set(["queued", "running"]);
/** The list refreshes only while a job on it can still change, and no faster than this. */
const REFRESH_MS = 3000;

export function progressBar(job, id) {
  const { epoch, epochs } = job.progress;
  return h(
    "progress",
    { id, max: epochs, value: epoch, "aria-label": `epoch ${epoch} of ${epochs}` },
    `${epoch} / ${epochs}`,
  );
}

/** #/jobs?status=…: newest first, filtered by status, with cancel for queued and running ones. */
export async function jobsView(main, params, signal) {
  const status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
  const filter = h(
    "select",
    {
      id: "status-filter",
      onchange: (e) => {
        location.hash = e.target.value ? `#/jobs?status=${e.target.value}` : "#/jobs";
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
          "",
        ].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    body,
  );
  replace(
    main,
    h("h1", { tabindex: "-1" }, "Jobs"),
    h(
      "div",
      { class: "toolbar" },
      h("div", {}, h("label", { for: "status-filter" }, "Status"), filter),
    ),
    message,
    h("div", { class: "table-wrap" }, table),
  );

  const load = async () => {
    const query = new URLSearchParams({ limit: "50" });
    if (status) query.set("status", status);
    const page = await api("GET", `/jobs?${query}`);
    // Keep keyboard focus on the cancel button's row across a refresh.
    const focused = document.activeElement?.closest?.("tr")?.dataset.job;
    replace(
      body,
      page.items.length
        ? page.items.map((job) => jobRow(job, load, message))
        : h("tr", {}, h("td", { colspan: 9 }, "No jobs.")),
    );
    if (focused)
      body.querySelector(`tr[data-job="${focused}"] button, tr[data-job="${focused}"] a`)?.focus();
    return page.items.some((job) => ACTIVE.has(job.status));
  };

  let active = await load();
  while (active && !signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
    if (signal.aborted || document.hidden) continue;
    active = await load().catch(() => true);
  }
}

function jobRow(job, reload, message) {
  const cancel = ACTIVE.has(job.status)
    ? h(
        "button",
        {
          type: "button",
          class: "secondary",
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
    ),
    h("td", { "data-label": "attempts" }, job.attempts),
    h("td", { "data-label": "created" }, formatTime(job.createdAt)),
    h("td", { "data-label": "started" }, formatTime(job.startedAt)),
    h("td", { "data-label": "duration" }, formatDuration(job.startedAt, job.finishedAt)),
    h("td", { "data-label": "actions" }, cancel),
  );
}
