// #/models/{name}/versions/{n}: one version, what it was trained with, its held-out evaluation,
// its curves and the try-it panel; #/models/{name}/compare?a=&b=: two versions side by side.
import { api } from "./api.js";
import { metricChart, overlayChart } from "./chart.js";
import {
  backLink,
  formatNumber,
  formatPercent,
  formatTime,
  h,
  heading,
  metricList,
  replace,
  shownMetrics,
  statusBadge,
} from "./dom.js";
import { evaluationSection } from "./evaluation.js";
import { layerDiagram } from "./layers.js";
import { modelHref, versionHref } from "./models-view.js";
import { tryItPanel } from "./try-it.js";

/** @typedef {import("./types.js").Model} Model */
/** @typedef {import("./types.js").ModelVersion} ModelVersion */
/** @typedef {import("./types.js").Epoch} Epoch */

/**
 * @param {string} name
 * @param {number} number
 * @returns {Promise<[Model, ModelVersion]>}
 */
async function loadVersion(name, number) {
  /** @type {Model} */
  const model = await api("GET", `/models/${encodeURIComponent(name)}`);
  const version = model.versions.find((v) => v.version === number);
  if (!version) throw new Error(`Model ${name} has no version ${number}.`);
  return [model, version];
}

/**
 * The epochs its job recorded; none for an imported version.
 * @param {ModelVersion} version
 * @returns {Promise<Epoch[]>}
 */
async function epochsOf(version) {
  if (!version.jobId) return [];
  const metrics = await api("GET", `/jobs/${version.jobId}/metrics`);
  return metrics.epochs;
}

/** @param {ModelVersion} version */
const targetScale = (version) =>
  version.preprocessing?.target.type === "numeric" ? version.preprocessing.target.scale : 1;

/**
 * What a person compares between versions, as label -> text.
 * @param {ModelVersion} v
 * @returns {[string, string][]}
 */
function settings(v) {
  const t = v.training;
  const target = v.preprocessing?.target;
  return [
    [
      "network",
      [
        `${v.network.inputs} inputs`,
        ...v.network.layers.map((l) => `${l.units} ${l.activation}`),
      ].join(" → "),
    ],
    ["parameters", String(v.parameters)],
    [
      "target",
      target
        ? `${target.name} (${target.type === "numeric" ? "regression" : "classification"})`
        : "—",
    ],
    ["features", v.preprocessing ? v.preprocessing.features.map((f) => f.name).join(", ") : "—"],
    ["loss", v.loss],
    ["optimizer", t.optimizer.name],
    [
      "learning rate",
      t.optimizer.learningRate === undefined ? "—" : String(t.optimizer.learningRate),
    ],
    ["epochs", String(t.epochs)],
    ["batch size", String(t.batchSize)],
    ["validation split", formatPercent(t.validationSplit)],
    ["test split", t.dataset ? formatPercent(t.dataset.testSplit) : "—"],
    ["early stopping", t.earlyStopping ? `patience ${t.earlyStopping.patience}` : "off"],
    ["seed", String(v.seed)],
  ];
}

/**
 * @param {ModelVersion} version
 * @param {Epoch[]} epochs
 */
function curves(version, epochs) {
  if (epochs.length === 0)
    return h("p", { class: "notice" }, "No epochs recorded for this version.");
  const loss = metricChart("Loss", [
    { key: "loss", label: "loss" },
    { key: "valLoss", label: "val loss" },
  ]);
  loss.el.id = "chart-loss";
  const first = epochs[0];
  const target = version.preprocessing?.target;
  const second =
    first?.accuracy !== undefined
      ? metricChart("Accuracy", [
          { key: "accuracy", label: "accuracy" },
          { key: "valAccuracy", label: "val accuracy" },
        ])
      : first?.mae !== undefined
        ? metricChart(target ? `Mean absolute error (${target.name})` : "Mean absolute error", [
            { key: "mae", label: "MAE", scale: targetScale(version) },
            { key: "valMae", label: "val MAE", scale: targetScale(version) },
          ])
        : null;
  for (const e of epochs) {
    loss.push(e);
    second?.push(e);
  }
  return h("div", { class: "charts" }, loss.el, second?.el);
}

/**
 * @param {HTMLElement} main
 * @param {string} name
 * @param {number} number
 * @param {AbortSignal} _signal
 */
export async function versionView(main, name, number, _signal) {
  const [model, version] = await loadVersion(name, number);
  const epochs = await epochsOf(version).catch(() => []);
  const t = version.training;
  replace(
    main,
    backLink(modelHref(name), `All versions of ${name}`),
    heading(`${model.name} v${version.version}`),
    h(
      "p",
      { class: "row" },
      statusBadge(version.status),
      model.latestVersion === version.version
        ? h("span", { class: "meta" }, "serving (newest ready)")
        : null,
      h("span", { class: "meta" }, `trained ${formatTime(version.trainedAt)}`),
      version.jobId ? h("a", { href: `#/jobs/${version.jobId}` }, "training job") : null,
    ),
    layerDiagram(version.network),
    h("h2", {}, "Held-out evaluation"),
    evaluationSection(version),
    h("h2", {}, "Final metrics"),
    metricList(version.metrics, version.preprocessing),
    h("h2", {}, "Training curves"),
    curves(version, epochs),
    h("h2", {}, "Trained with"),
    h(
      "dl",
      { class: "settings" },
      settings(version).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))),
    ),
    t.dataset
      ? h(
          "p",
          { class: "meta" },
          "Dataset: ",
          h("a", { href: `#/datasets/${t.dataset.id}` }, "the dataset it was trained on"),
        )
      : null,
    version.status === "ready" ? tryItPanel(model.name, version) : null,
  );
}

/**
 * #/models/{name}/compare?a=1&b=2: settings (changes marked), scores and curves overlaid.
 * @param {HTMLElement} main
 * @param {string} name
 * @param {URLSearchParams} params
 */
export async function compareView(main, name, params) {
  /** @type {Model} */
  const model = await api("GET", `/models/${encodeURIComponent(name)}`);
  const picked = [Number(params.get("a")), Number(params.get("b"))].map((n) =>
    model.versions.find((v) => v.version === n),
  );
  const [a, b] = picked;
  if (!a || !b) throw new Error("Pick two versions of this model to compare.");
  const [ea, eb] = await Promise.all([epochsOf(a).catch(() => []), epochsOf(b).catch(() => [])]);
  const sa = settings(a);
  const sb = settings(b);
  const rows = sa.map(([label, va], i) => {
    const vb = sb[i]?.[1] ?? "—";
    const changed = va !== vb;
    return h(
      "tr",
      { class: changed ? "changed" : undefined },
      h(
        "th",
        { scope: "row" },
        label,
        changed ? h("span", { class: "visually-hidden" }, " (differs)") : null,
      ),
      h("td", { class: changed ? "changed" : undefined }, va),
      h("td", { class: changed ? "changed" : undefined }, vb),
    );
  });
  /** @param {ModelVersion} v @returns {[string, string][]} */
  const scores = (v) => {
    const e = v.evaluation;
    const target = v.preprocessing?.target.name ?? "target";
    /** @type {[string, string][]} */
    const out = v.metrics
      ? shownMetrics(v.metrics, v.preprocessing).map(([l, x]) => [`final ${l}`, formatNumber(x)])
      : [];
    if (e?.task === "classification") out.push(["test accuracy", formatPercent(e.accuracy)]);
    if (e?.task === "regression") {
      out.push(
        [`test MAE (${target})`, formatNumber(e.mae)],
        [`test RMSE (${target})`, formatNumber(e.rmse)],
        ["test R²", e.r2 === null ? "—" : formatNumber(e.r2, 3)],
      );
    }
    return out;
  };
  const scoreA = new Map(scores(a));
  const scoreB = new Map(scores(b));
  const scoreLabels = [...new Set([...scoreA.keys(), ...scoreB.keys()])];
  const table = (/** @type {string} */ caption, /** @type {HTMLElement[]} */ body) =>
    h(
      "div",
      { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
      h(
        "table",
        { class: "diff" },
        h("caption", { class: "visually-hidden" }, caption),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h(
              "th",
              { scope: "col" },
              h("span", { class: "visually-hidden" }, caption.split(" ")[0]),
            ),
            h("th", { scope: "col" }, `v${a.version}`),
            h("th", { scope: "col" }, `v${b.version}`),
          ),
        ),
        h("tbody", {}, body),
      ),
    );
  const runs = [
    { label: `v${a.version}`, epochs: ea, scale: targetScale(a) },
    { label: `v${b.version}`, epochs: eb, scale: targetScale(b) },
  ];
  const second =
    ea[0]?.accuracy !== undefined || eb[0]?.accuracy !== undefined ? "accuracy" : "mae";
  replace(
    main,
    backLink(modelHref(name), `All versions of ${name}`),
    heading(`${name}: v${a.version} and v${b.version}`),
    h(
      "p",
      { class: "row" },
      h("a", { href: versionHref(name, a.version) }, `v${a.version}`),
      statusBadge(a.status),
      h("a", { href: versionHref(name, b.version) }, `v${b.version}`),
      statusBadge(b.status),
    ),
    h("h2", {}, "Scores"),
    table(
      "Scores of both versions",
      scoreLabels.map((l) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, l),
          h("td", {}, scoreA.get(l) ?? "—"),
          h("td", {}, scoreB.get(l) ?? "—"),
        ),
      ),
    ),
    h("h2", {}, "Settings"),
    h("p", { class: "help" }, "Rows that differ are marked."),
    table("Settings of both versions; rows that differ are marked", rows),
    h("h2", {}, "Curves"),
    h(
      "div",
      { class: "charts", id: "compare-charts" },
      overlayChart("Loss", "loss", runs),
      overlayChart(second === "accuracy" ? "Accuracy" : "Mean absolute error", second, runs),
    ),
  );
}
