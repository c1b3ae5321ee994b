// The "try it" panel: one prediction from the page. A version with `preprocessing` takes named
// features (a number field or a select of categories each) and answers `predictions`; one
// without takes rows of numbers and answers the raw `outputs` (and `classes` for classifiers).
import { api } from "./api.js";
import { formatNumber, h, replace } from "./dom.js";

/** @typedef {import("./types.js").ModelVersion} ModelVersion */
/** @typedef {import("./types.js").FeatureTransform} FeatureTransform */
/** @typedef {import("./types.js").PredictResponse} PredictResponse */
/** @typedef {{ el: HTMLElement, read: () => unknown[] }} InputFields */

let panels = 0;

/**
 * @param {string} modelName
 * @param {ModelVersion} version
 */
export function tryItPanel(modelName, version) {
  const n = ++panels;
  const result = h("output", { id: `try-result-${n}`, "aria-live": "polite" });
  const features = version.preprocessing?.features;
  const inputs = features ? featureFields(n, features) : rowsField(n, version.network.inputs);
  if (features) void orderCategories(inputs.el, version);
  const submit = h("button", { type: "submit", class: "primary" }, "Predict");
  const form = h(
    "form",
    { id: `try-form-${n}`, class: "try-form", novalidate: true },
    inputs.el,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replace(result, "Predicting…");
    try {
      const body = { model: modelName, version: version.version, inputs: inputs.read() };
      const response = await api("POST", "/predict", body);
      replace(result, showResponse(response, version));
    } catch (error) {
      replace(result, problemView(error));
    } finally {
      submit.disabled = false;
    }
  });
  return h(
    "section",
    { class: "panel try-it", "aria-labelledby": `try-title-${n}` },
    h("h2", { id: `try-title-${n}` }, `Try it: ${modelName} v${version.version}`),
    form,
    result,
  );
}

/**
 * The stored preprocessing lists a feature's categories sorted (that order is the one-hot
 * layout); a person reads them in the dataset's own order (first appearance: "low, medium,
 * high", not "high, low, medium"). When the version's dataset is still there, the selects take
 * its order; the values sent are the same either way.
 * @param {HTMLElement} fields
 * @param {ModelVersion} version
 */
async function orderCategories(fields, version) {
  const id = version.training?.dataset?.id;
  if (!id) return;
  /** @type {import("./types.js").Dataset} */
  let dataset;
  try {
    dataset = await api("GET", `/datasets/${encodeURIComponent(id)}`);
  } catch {
    return; // Deleted since: the stored order it is.
  }
  for (const column of dataset.columns) {
    if (column.type !== "categorical") continue;
    const select = [...fields.querySelectorAll("select")].find((s) => s.name === column.name);
    if (!select) continue;
    const rank = new Map(column.categories.map((c, i) => [c.value, i]));
    const options = [...select.options].sort(
      (a, b) => (rank.get(a.value) ?? rank.size) - (rank.get(b.value) ?? rank.size),
    );
    const chosen = select.value;
    select.replaceChildren(...options);
    // Untouched, it starts at the first category in the new order; a choice made stays.
    if (select.dataset.touched) select.value = chosen;
    else select.selectedIndex = 0;
    select.dataset.order = "dataset";
  }
  fields.dataset.ordered = "true";
}

/**
 * @param {number} n
 * @param {FeatureTransform[]} features
 * @returns {InputFields}
 */
function featureFields(n, features) {
  const fields = features.map((feature, i) => {
    const id = `try-${n}-f${i}`;
    const control =
      feature.type === "categorical"
        ? h(
            "select",
            {
              id,
              name: feature.name,
              onchange: (/** @type {Event} */ e) => {
                /** @type {HTMLSelectElement} */ (e.target).dataset.touched = "true";
              },
            },
            feature.categories.map((c) => h("option", { value: c }, c)),
          )
        : h("input", { id, name: feature.name, type: "number", step: "any", required: true });
    return {
      feature,
      control,
      el: h("div", { class: "field" }, h("label", { for: id }, feature.name), control),
    };
  });
  return {
    el: h(
      "fieldset",
      { class: "fields" },
      h("legend", {}, "Features"),
      fields.map((f) => f.el),
    ),
    read() {
      /** @type {Record<string, string | number>} */
      const row = {};
      for (const { feature, control } of fields) {
        row[feature.name] =
          feature.type === "categorical" || control.value === ""
            ? control.value
            : Number(control.value);
      }
      return [row];
    },
  };
}

/**
 * @param {number} n
 * @param {number} width
 * @returns {InputFields}
 */
function rowsField(n, width) {
  const id = `try-${n}-rows`;
  const example = Array.from({ length: width }, () => "0").join(", ");
  const textarea = h("textarea", {
    id,
    name: "rows",
    rows: 4,
    spellcheck: "false",
    "aria-describedby": `${id}-help`,
    placeholder: example,
  });
  return {
    el: h(
      "div",
      { class: "field" },
      h("label", { for: id }, "Input rows"),
      h(
        "p",
        { id: `${id}-help`, class: "help" },
        `One row per line, ${width} numbers each, separated by commas or spaces.`,
      ),
      textarea,
    ),
    read() {
      // Anything that is not a number is sent as written, so the API names the bad cell.
      return textarea.value
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "")
        .map((line) =>
          line
            .split(/[\s,;]+/)
            .filter((cell) => cell !== "")
            .map((cell) => (Number.isFinite(Number(cell)) ? Number(cell) : cell)),
        );
    },
  };
}

/**
 * @param {PredictResponse} response
 * @param {ModelVersion} version
 */
function showResponse(response, version) {
  const target = version.preprocessing?.target;
  if (response.predictions) {
    return h(
      "ol",
      { class: "predictions" },
      response.predictions.map((p) =>
        h(
          "li",
          { class: "answer" },
          "label" in p
            ? [
                h("strong", {}, p.label),
                p.probabilities
                  ? ` (${Object.entries(p.probabilities)
                      .map(([label, prob]) => `${label}: ${formatNumber(prob, 3)}`)
                      .join(", ")})`
                  : "",
              ]
            : // A regressor answers in the target's units: say which target it is.
              [target ? `${target.name}: ` : "", h("strong", {}, formatNumber(p.value))],
        ),
      ),
    );
  }
  const classes = response.classes;
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Outputs" },
    h(
      "table",
      { class: "outputs" },
      h("caption", { class: "visually-hidden" }, `Outputs of v${version.version}`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "row"),
          h("th", { scope: "col" }, "outputs"),
          classes ? h("th", { scope: "col" }, "class") : null,
        ),
      ),
      h(
        "tbody",
        {},
        (response.outputs ?? []).map((row, i) =>
          h(
            "tr",
            {},
            h("td", {}, i),
            h("td", { class: "output-values" }, row.map((v) => formatNumber(v)).join(", ")),
            classes ? h("td", {}, classes[i] ?? "") : null,
          ),
        ),
      ),
    ),
  );
}

/**
 * An API error with its field paths, as the API named them.
 * @param {unknown} error
 */
export function problemView(error) {
  const problem =
    /** @type {{ message?: string, errors?: { path: string, message: string }[] }} */ (error);
  return h(
    "div",
    { class: "problem error-box", role: "alert" },
    h("p", {}, problem.message ?? String(error)),
    problem.errors?.length
      ? h(
          "ul",
          { class: "problem-fields" },
          problem.errors.map((e) =>
            h("li", {}, h("code", {}, e.path || "(request)"), ` ${e.message}`),
          ),
        )
      : null,
  );
}
