// The dashboard's router: hash URLs so the server serves one page and the back button works.
//   #/datasets, #/datasets/{id}, #/train?dataset={id}, #/models, #/models/{name},
//   #/models/{name}/versions/{n}, #/models/{name}/compare?a={n}&b={m}, #/jobs, #/jobs/{id},
//   #/studies, #/studies/new?dataset={id}, #/studies/{id}
// Each view gets an AbortSignal that ends its streams and refreshes when the user goes elsewhere.
import { apiKey, setApiKey } from "./api.js";
import { datasetsView, datasetView } from "./datasets-view.js";
import { announce, h, replace } from "./dom.js";
import { jobView } from "./job-view.js";
import { jobsView } from "./jobs-view.js";
import { modelsView, modelView } from "./models-view.js";
import { operateListView, operateView } from "./operate-view.js";
import { studiesView } from "./studies-view.js";
import { newStudyView } from "./study-form.js";
import { studyView } from "./study-view.js";
import { trainView } from "./train-view.js";
import { problemView } from "./try-it.js";
import { compareView, versionView } from "./version-view.js";

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const keyForm = /** @type {HTMLFormElement} */ (document.getElementById("key-form"));
const keyInput = /** @type {HTMLInputElement} */ (document.getElementById("api-key"));
const forget = /** @type {HTMLButtonElement} */ (document.getElementById("key-forget"));
let current = new AbortController();

/**
 * @param {string[]} parts the path's decoded segments
 * @param {URLSearchParams} params
 * @param {AbortSignal} signal
 * @returns {Promise<unknown>}
 */
function render(parts, params, signal) {
  const [section, id, sub, subId] = parts;
  if (section === "datasets") return id ? datasetView(main, id, signal) : datasetsView(main);
  if (section === "operate") return id ? operateView(main, id, signal) : operateListView(main);
  if (section === "train") return trainView(main, params, signal);
  if (section === "studies" && id === "new") return newStudyView(main, params);
  if (section === "studies" && id) return studyView(main, id, signal);
  if (section === "studies") return studiesView(main, params, signal);
  if (section === "models" && id && sub === "versions" && subId)
    return versionView(main, id, Number(subId), signal);
  if (section === "models" && id && sub === "compare") return compareView(main, id, params);
  if (section === "models" && id) return modelView(main, id);
  if (section === "models") return modelsView(main);
  if (section === "jobs" && id) return jobView(main, id, signal);
  return jobsView(main, params, signal);
}

async function route() {
  current.abort();
  current = new AbortController();
  const signal = current.signal;
  const [path = "", query = ""] = (location.hash.slice(1) || "/jobs").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  const section = parts[0] ?? "jobs";
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link instanceof HTMLElement && link.dataset.nav === section)
      link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  replace(main, h("p", {}, "Loading…"));
  const rendered = render(parts, params, signal);
  // Move focus to the new page's heading, as a page load would, once it is there.
  requestAnimationFrame(() => {
    if (!signal.aborted) main.querySelector("h1")?.focus();
  });
  try {
    await rendered;
  } catch (error) {
    if (signal.aborted) return;
    replace(main, h("h1", { tabindex: "-1" }, "Something went wrong"), problemView(error));
    main.querySelector("h1")?.focus();
  }
  if (!signal.aborted && !main.contains(document.activeElement)) {
    main.querySelector("h1")?.focus();
  }
}

keyInput.value = apiKey();
keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  setApiKey(keyInput.value.trim());
  announce(keyInput.value.trim() ? "API key saved for this tab" : "API key cleared");
  void route();
});
forget.addEventListener("click", () => {
  keyInput.value = "";
  setApiKey("");
  announce("API key cleared");
  void route();
});
document.addEventListener("nnserve:unauthenticated", () => {
  keyInput.setAttribute("aria-invalid", "true");
  announce("This server needs a valid API key: enter it above");
});
keyInput.addEventListener("input", () => keyInput.removeAttribute("aria-invalid"));

window.addEventListener("hashchange", () => void route());
void route();
