// The dashboard's router: hash URLs (#/models, #/models/{name}, #/jobs, #/jobs/{id}) so the
// server serves one page and the back button works. Each view gets an AbortSignal that ends its
// streams and refreshes when the user goes elsewhere.
import { apiKey, setApiKey } from "./api.js";
import { announce, h, replace } from "./dom.js";
import { jobView } from "./job-view.js";
import { jobsView } from "./jobs-view.js";
import { modelsView, modelView } from "./models-view.js";
import { operateListView, operateView } from "./operate-view.js";
import { problemView } from "./try-it.js";

const main = document.getElementById("main");
let current = new AbortController();

async function route() {
  current.abort();
  current = new AbortController();
  const signal = current.signal;
  const [path, query = ""] = (location.hash.slice(1) || "/jobs").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === parts[0]) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  replace(main, h("p", {}, "Loading…"));
  const view =
    parts[0] === "operate"
      ? () => (parts[1] ? operateView(main, parts[1], signal) : operateListView(main))
      : parts[0] === "models" && parts[1]
        ? () => modelView(main, parts[1])
        : parts[0] === "models"
          ? () => modelsView(main)
          : parts[0] === "jobs" && parts[1]
            ? () => jobView(main, parts[1], signal)
            : () => jobsView(main, params, signal);
  const rendered = view();
  // Move focus to the new page's heading, as a page load would, once it is there.
  requestAnimationFrame(() => {
    if (!signal.aborted) main.querySelector("h1")?.focus();
  });
  try {
    await rendered;
  } catch (error) {
    if (signal.aborted) return;
    replace(main, h("h1", { tabindex: "-1" }, "Something went wrong"), problemView(error));
    main.querySelector("h1").focus();
  }
  if (!signal.aborted && !main.contains(document.activeElement)) {
    main.querySelector("h1")?.focus();
  }
}

const keyForm = document.getElementById("key-form");
const keyInput = document.getElementById("api-key");
keyInput.value = apiKey();
keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  setApiKey(keyInput.value.trim());
  announce(keyInput.value.trim() ? "API key saved for this tab" : "API key cleared");
  void route();
});
document.getElementById("key-forget").addEventListener("click", () => {
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
