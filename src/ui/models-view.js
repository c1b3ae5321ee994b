import { api } from "./api.js";
import {
  announce,
  backLink,
  confirmDelete,
  formatTime,
  h,
  heading,
  metricList,
  replace,
  statusBadge,
} from "./dom.js";
import { layerDiagram } from "./layers.js";
import { lifecycleSection } from "./lifecycle-view.js";
import { problemView, tryItPanel } from "./try-it.js";

/** @typedef {import("./types.js").Model} Model */
/** @typedef {import("./types.js").ModelVersion} ModelVersion */

/** @param {string} name */
export const modelHref = (name) => `#/models/${encodeURIComponent(name)}`;
/** @param {string} name @param {number} version */
export const versionHref = (name, version) => `${modelHref(name)}/versions/${version}`;

/**
 * #/models: every model with its newest version's network and final metrics.
 * @param {HTMLElement} main
 */
export async function modelsView(main) {
  const { items } = await api("GET", "/models");
  /** @type {Model[]} */
  const details = await Promise.all(
    items.map((/** @type {{ name: string }} */ m) =>
      api("GET", `/models/${encodeURIComponent(m.name)}`),
    ),
  );
  const message = h("div", { "aria-live": "polite" });
  const render = () =>
    replace(
      main,
      h(
        "div",
        { class: "page-head" },
        heading("Models"),
        h("a", { class: "button primary", href: "#/train" }, "Train a model"),
      ),
      message,
      details.length === 0
        ? h(
            "p",
            { class: "notice" },
            "No models yet. ",
            h("a", { href: "#/datasets" }, "Upload a dataset"),
            ", then train one.",
          )
        : h(
            "ul",
            { class: "card-list" },
            details.map((model) =>
              modelCard(model, message, () => {
                details.splice(details.indexOf(model), 1);
                render();
                main.querySelector("h1")?.focus();
              }),
            ),
          ),
    );
  render();
}

/**
 * @param {Model} model
 * @param {HTMLElement} message
 * @param {() => void} onDeleted
 */
function modelCard(model, message, onDeleted) {
  const shown =
    model.versions.find((v) => v.version === model.latestVersion) ?? model.versions.at(-1);
  const count = `${model.versions.length} version${model.versions.length === 1 ? "" : "s"}`;
  return h(
    "li",
    { class: "card", "data-model": model.name },
    h("h2", {}, h("a", { href: modelHref(model.name) }, model.name)),
    h(
      "p",
      { class: "meta" },
      count,
      model.latestVersion ? ` · newest ready v${model.latestVersion}` : " · none ready yet",
      ` · created ${formatTime(model.createdAt)}`,
    ),
    shown
      ? [
          layerDiagram(shown.network),
          h(
            "div",
            { class: "row", style: undefined },
            h("a", { href: versionHref(model.name, shown.version) }, `v${shown.version}`),
            statusBadge(shown.status),
            metricList(shown.metrics, shown.preprocessing),
          ),
        ]
      : null,
    h(
      "div",
      { class: "card-foot" },
      h("span"),
      confirmDelete({
        name: model.name,
        what: `Delete model "${model.name}" and its ${count}? This cannot be undone.`,
        run: async () => {
          await api("DELETE", `/models/${encodeURIComponent(model.name)}`);
          announce(`Model ${model.name} deleted`);
          onDeleted();
        },
        onError: (error) => replace(message, problemView(error)),
      }),
    ),
  );
}

/**
 * The versions table of a model, with links to each version and a pair to compare.
 * @param {Model} model
 */
function versionsTable(model) {
  const newestFirst = [...model.versions].reverse();
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "stack" },
      h("caption", { class: "visually-hidden" }, `Versions of ${model.name}`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["version", "status", "network", "final metrics", "trained", "job"].map((c) =>
            h("th", { scope: "col" }, c),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        newestFirst.map((v) =>
          h(
            "tr",
            { "data-version": v.version },
            h(
              "td",
              { "data-label": "version" },
              h("a", { href: versionHref(model.name, v.version) }, `v${v.version}`),
            ),
            h(
              "td",
              { "data-label": "status" },
              statusBadge(v.status),
              // A study's candidate is not what /predict serves by default: say so, and whose.
              v.study
                ? h(
                    "a",
                    {
                      class: "alias study-candidate",
                      href: `#/studies/${v.study}`,
                      title: "not served as newest",
                    },
                    "study candidate",
                  )
                : null,
            ),
            h("td", { "data-label": "network" }, layerDiagram(v.network)),
            h("td", { "data-label": "final metrics" }, metricList(v.metrics, v.preprocessing)),
            h("td", { "data-label": "trained" }, formatTime(v.trainedAt)),
            h(
              "td",
              { "data-label": "job" },
              v.jobId ? h("a", { href: `#/jobs/${v.jobId}` }, "training job") : "imported",
            ),
          ),
        ),
      ),
    ),
  );
}

/**
 * #/models/{name}: its versions, a comparison of two, and the try-it panel on a ready one.
 * @param {HTMLElement} main
 * @param {string} name
 */
export async function modelView(main, name) {
  /** @type {Model} */
  const model = await api("GET", `/models/${encodeURIComponent(name)}`);
  const ready = model.versions.filter((v) => v.status === "ready");
  const panelSlot = h("div");
  /** @param {ModelVersion | undefined} version */
  const showPanel = (version) =>
    replace(panelSlot, version ? tryItPanel(model.name, version) : null);
  const picker =
    ready.length > 1
      ? h(
          "div",
          { class: "field" },
          h("label", { for: "version-pick" }, "Version to try"),
          h(
            "select",
            {
              id: "version-pick",
              onchange: (/** @type {Event} */ e) =>
                showPanel(
                  ready.find(
                    (v) => String(v.version) === /** @type {HTMLSelectElement} */ (e.target).value,
                  ),
                ),
            },
            [...ready].reverse().map((v) => h("option", { value: v.version }, `v${v.version}`)),
          ),
        )
      : null;
  replace(
    main,
    backLink("#/models", "All models"),
    h(
      "div",
      { class: "page-head" },
      heading(model.name),
      h(
        "div",
        { class: "row" },
        h("a", { class: "button", href: `#/operate/${encodeURIComponent(model.name)}` }, "Operate"),
        h("a", { class: "button", href: retrainHref(model) }, "Train a new version"),
        h(
          "a",
          { class: "button", href: `#/studies?model=${encodeURIComponent(model.name)}` },
          "Studies",
        ),
      ),
    ),
    h(
      "p",
      { class: "meta" },
      `${model.versions.length} versions · `,
      model.latestVersion ? `newest ready v${model.latestVersion}` : "none ready yet",
    ),
    versionsTable(model),
    lifecycleSection(model),
    model.versions.length > 1 ? compareForm(model) : null,
    // The panel has its own heading ("Try it: name vN"); the picker sits just above it.
    picker ? h("div", { class: "actions" }, picker) : null,
    ready.length === 0 ? h("p", { class: "notice" }, "No version is ready to try yet.") : null,
    panelSlot,
  );
  showPanel(ready.at(-1));
}

/**
 * The train form for a new version: the model's name, and the dataset its newest version came
 * from when there is one.
 * @param {Model} model
 */
function retrainHref(model) {
  const query = new URLSearchParams({ model: model.name });
  const dataset = model.versions.at(-1)?.training?.dataset?.id;
  if (dataset) query.set("dataset", dataset);
  return `#/train?${query}`;
}

/** @param {Model} model */
function compareForm(model) {
  const newestFirst = [...model.versions].reverse();
  /** @param {string} id @param {string} label @param {number} pick */
  const select = (id, label, pick) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      h(
        "select",
        { id, name: id },
        newestFirst.map((v, i) =>
          h("option", { value: v.version, selected: i === pick }, `v${v.version}`),
        ),
      ),
    );
  const form = h(
    "form",
    { class: "toolbar", "aria-label": "Compare versions" },
    select("compare-a", "Version", 1),
    select("compare-b", "with version", 0),
    h("button", { type: "submit" }, "Compare"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    location.hash = `${modelHref(model.name)}/compare?a=${data.get("compare-a")}&b=${data.get("compare-b")}`;
  });
  return [h("h2", {}, "Compare versions"), form];
}
