import { api } from "./api.js";
import { announce, formatTime, h, metricList, replace, statusBadge } from "./dom.js";
import { layerDiagram } from "./layers.js";
import { lifecycleSection } from "./lifecycle-view.js";
import { problemView, tryItPanel } from "./try-it.js";

const modelHref = (name) => `#/models/${encodeURIComponent(name)}`;

/** #/models: every model with its newest version's network and final metrics. */
export async function modelsView(main) {
  const { items } = await api("GET", "/models");
  const details = await Promise.all(
    items.map((m) => api("GET", `/models/${encodeURIComponent(m.name)}`)),
  );
  const render = () =>
    replace(
      main,
      h("h1", { tabindex: "-1" }, "Models"),
      details.length === 0
        ? h("p", { class: "notice" }, "No models yet: POST /train starts one.")
        : h(
            "ul",
            { class: "card-list" },
            details.map((model) =>
              modelCard(model, () => {
                details.splice(details.indexOf(model), 1);
                render();
                main.querySelector("h1").focus();
              }),
            ),
          ),
    );
  render();
}

function modelCard(model, onDeleted) {
  const shown =
    model.versions.find((v) => v.version === model.latestVersion) ?? model.versions.at(-1);
  const message = h("div", { "aria-live": "polite" });
  const remove = h("button", { type: "button", class: "danger" }, `Delete ${model.name}`);
  remove.addEventListener("click", async () => {
    const ok = window.confirm(
      `Delete model "${model.name}" and all ${model.versions.length} of its versions? This cannot be undone.`,
    );
    if (!ok) return;
    remove.disabled = true;
    try {
      await api("DELETE", `/models/${encodeURIComponent(model.name)}`);
      announce(`Model ${model.name} deleted`);
      onDeleted();
    } catch (error) {
      remove.disabled = false;
      replace(message, problemView(error));
    }
  });
  return h(
    "li",
    { class: "card", "data-model": model.name },
    h("h2", {}, h("a", { href: modelHref(model.name) }, model.name)),
    h(
      "p",
      { class: "meta" },
      `${model.versionCount} version${model.versionCount === 1 ? "" : "s"}`,
      model.latestVersion ? `, serving v${model.latestVersion}` : ", none ready yet",
      ` · created ${formatTime(model.createdAt)}`,
    ),
    shown
      ? [
          layerDiagram(shown.network),
          h(
            "div",
            { class: "row" },
            `v${shown.version}`,
            statusBadge(shown.status),
            metricList(shown.metrics),
          ),
        ]
      : null,
    h("div", { class: "row" }, remove),
    message,
  );
}

/** #/models/{name}: its versions, and the try-it panel on a ready one. */
export async function modelView(main, name) {
  const model = await api("GET", `/models/${encodeURIComponent(name)}`);
  const ready = model.versions.filter((v) => v.status === "ready");
  const panelSlot = h("div");
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
              onchange: (e) => showPanel(ready.find((v) => String(v.version) === e.target.value)),
            },
            [...ready].reverse().map((v) => h("option", { value: v.version }, `v${v.version}`)),
          ),
        )
      : null;
  replace(
    main,
    h("p", {}, h("a", { href: "#/models" }, "← All models")),
    h("h1", { tabindex: "-1" }, model.name),
    h(
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
            ["version", "status", "network", "final metrics", "created", "trained", "job"].map(
              (c) => h("th", { scope: "col" }, c),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          [...model.versions]
            .reverse()
            .map((v) =>
              h(
                "tr",
                {},
                h("td", { "data-label": "version" }, `v${v.version}`),
                h("td", { "data-label": "status" }, statusBadge(v.status)),
                h("td", { "data-label": "network" }, layerDiagram(v.network)),
                h("td", { "data-label": "final metrics" }, metricList(v.metrics)),
                h("td", { "data-label": "created" }, formatTime(v.createdAt)),
                h("td", { "data-label": "trained" }, formatTime(v.trainedAt)),
                h("td", { "data-label": "job" }, h("a", { href: `#/jobs/${v.jobId}` }, "job")),
              ),
            ),
        ),
      ),
    ),
    lifecycleSection(model),
    picker,
    ready.length === 0 ? h("p", { class: "notice" }, "No version is ready to try yet.") : null,
    panelSlot,
  );
  showPanel(ready.at(-1));
}
