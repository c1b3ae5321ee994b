// #/studies?model={name}: hyper-parameter searches, newest first, with their status, model,
// trials done of the budget, the best metric so far and the epochs spent against running every
// trial to the end. Refreshed every 3 s while one on the page runs (and the tab is visible).
import { api } from "./api.js";
import { formatTime, h, heading, replace, scrollBox, statusBadge } from "./dom.js";
import { bestText, epochsText, objectiveLabel, studyTitle, trialsDoneText } from "./study-text.js";
import { problemView } from "./try-it.js";

/** @typedef {import("./types.js").StudySummary} StudySummary */
/** @typedef {import("./types.js").StudyPage} StudyPage */

const PAGE = 20;
const REFRESH_MS = 3000;
const COLUMNS = ["study", "status", "model", "trials done", "best", "epochs spent", "created"];

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 * @param {AbortSignal} signal
 */
export async function studiesView(main, params, signal) {
  const model = params.get("model");
  const body = h("tbody");
  const message = h("div", { "aria-live": "polite" });
  const more = h("button", { type: "button", hidden: true }, "Show older");
  /** @type {StudySummary[]} */
  let shown = [];
  /** @type {string | null} */
  let nextCursor = null;

  /** @param {string | null} cursor @param {number} limit */
  const fetchPage = (cursor, limit) => {
    const query = new URLSearchParams({ limit: String(limit) });
    if (model) query.set("model", model);
    if (cursor) query.set("cursor", cursor);
    return /** @type {Promise<StudyPage>} */ (api("GET", `/studies?${query}`));
  };
  const draw = () => {
    replace(
      body,
      shown.length
        ? shown.map(studyRow)
        : h("tr", {}, h("td", { colspan: COLUMNS.length }, "No studies yet.")),
    );
    more.hidden = nextCursor === null;
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await fetchPage(nextCursor, PAGE);
      shown = [...shown, ...page.items];
      nextCursor = page.nextCursor;
      draw();
    } catch (error) {
      replace(message, problemView(error));
    } finally {
      more.disabled = false;
    }
  });
  /** The rows already shown, again (as many as were shown, at most 100). */
  const load = async () => {
    const page = await fetchPage(null, Math.min(100, Math.max(PAGE, shown.length)));
    shown = page.items;
    nextCursor = page.nextCursor;
    draw();
    return shown.some((s) => s.status === "running");
  };

  replace(
    main,
    h(
      "div",
      { class: "page-head" },
      heading(model ? `Studies of ${model}` : "Studies"),
      h("a", { class: "button primary", href: "#/studies/new" }, "New study"),
    ),
    h(
      "p",
      { class: "lede" },
      "A study searches for a good network: it trains many on one dataset, stops the weak ones early and keeps the best.",
    ),
    message,
    scrollBox(
      "Studies, newest first",
      h(
        "table",
        { class: "stack studies" },
        h("caption", { class: "visually-hidden" }, "Studies, newest first"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            COLUMNS.map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        body,
      ),
    ),
    more,
  );

  let active = await load();
  while (active && !signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
    if (signal.aborted || document.hidden) continue;
    active = await load().catch(() => true);
  }
}

/** @param {StudySummary} s */
function studyRow(s) {
  return h(
    "tr",
    { "data-study": s.id },
    h("td", { "data-label": "study" }, h("a", { href: `#/studies/${s.id}` }, studyTitle(s))),
    h("td", { "data-label": "status" }, statusBadge(s.status)),
    h(
      "td",
      { "data-label": "model" },
      h("a", { href: `#/models/${encodeURIComponent(s.model)}` }, s.model),
    ),
    h("td", { "data-label": "trials done" }, trialsDoneText(s.trialCounts, s.budget.trials)),
    h(
      "td",
      { "data-label": "best" },
      s.best ? `${objectiveLabel(s.objective.metric)} ${bestText(s)}` : "none yet",
    ),
    h("td", { "data-label": "epochs spent" }, epochsText(s)),
    h("td", { "data-label": "created" }, formatTime(s.createdAt)),
  );
}
