// #/studies/new?dataset={id}: a hyper-parameter search from a dataset. The target decides which
// objectives the data can give (accuracy needs classes, MAE a number); the search space starts
// from a small default a person edits; the budget's rungs are previewed as the numbers change.
// The server's field messages land under the fields they name; an accepted study opens its page.
import { api } from "./api.js";
import { h, metricLabel, replace } from "./dom.js";
import { clearErrors, field, num, number, select, showProblem } from "./form.js";
import { lowerIsBetter, previewRungs } from "./study-text.js";

/** @typedef {import("./types.js").Dataset} Dataset */
/** @typedef {import("./types.js").DatasetSummary} DatasetSummary */
/** @typedef {import("./types.js").Study} Study */

/** What each task's epochs record, best first (schemas.ts OBJECTIVE_METRICS, by task). */
const OBJECTIVES = {
  classification: ["valLoss", "valAccuracy", "loss", "accuracy"],
  regression: ["valLoss", "valMae", "loss", "mae"],
};
/** schemas.ts HIDDEN_ACTIVATIONS: softmax and step make no sense between layers. */
const ACTIVATIONS = ["relu", "elu", "leakyRelu", "tanh", "sigmoid", "linear"];
/** A small space that trains in seconds on a table of a few thousand rows. */
const DEFAULTS = {
  layers: "16; 32; 32, 16",
  activations: ["relu", "elu"],
  learningRate: [0.001, 0.03],
  dropout: [0, 0.3],
  batchSize: "16, 32, 64",
  budget: { trials: 9, minEpochs: 3, maxEpochs: 27, reductionFactor: 3, maxConcurrent: 2 },
};

/** @param {string} text "16, 32" -> [16, 32]; a word that is not a number is sent as null, for the server to name */
function numbers(text) {
  return text
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "")
    .map(Number)
    .map((v) => (Number.isFinite(v) ? v : null));
}

/** @param {string} text "16; 32, 16" -> [[16], [32, 16]] */
function layerChoices(text) {
  return text
    .split(";")
    .map((option) => option.trim())
    .filter((option) => option !== "")
    .map(numbers);
}

/** @param {string} id @param {string | number} value */
const whole = (id, value) => number(id, value, { min: 1, step: 1, inputmode: "numeric" });

/**
 * The form's state: the chosen dataset (fetched again when the select changes), its controls
 * and the request they make.
 */
class StudyForm {
  /**
   * @param {DatasetSummary[]} datasets
   * @param {Dataset} dataset
   * @param {URLSearchParams} params
   */
  constructor(datasets, dataset, params) {
    this.dataset = dataset;
    this.datasetSelect = /** @type {HTMLSelectElement} */ (
      h(
        "select",
        { name: "dataset" },
        datasets.map((d) =>
          h("option", { value: d.id, selected: d.id === dataset.id }, `${d.name} (${d.rows} rows)`),
        ),
      )
    );
    this.target = select(
      "target",
      dataset.columns.map((c) => c.name),
      dataset.columns.at(-1)?.name,
    );
    this.task = h("p", { id: "study-task", class: "meta", "aria-live": "polite" });
    this.model = /** @type {HTMLInputElement} */ (
      h("input", { name: "model", value: params.get("model") ?? dataset.name, autocomplete: "off" })
    );
    this.name = /** @type {HTMLInputElement} */ (
      h("input", { name: "name", autocomplete: "off", placeholder: "optional" })
    );
    this.metric = select("metric", []);
    this.direction = h("p", { class: "help", id: "objective-direction", "aria-live": "polite" });
    this.space = this.spaceControls();
    const b = DEFAULTS.budget;
    this.budget = {
      trials: whole("trials", b.trials),
      minEpochs: whole("minEpochs", b.minEpochs),
      maxEpochs: whole("maxEpochs", b.maxEpochs),
      reductionFactor: number("reductionFactor", b.reductionFactor, { min: 2, step: 1 }),
      maxConcurrent: whole("maxConcurrent", b.maxConcurrent),
    };
    this.scheduler = select("scheduler", ["asha", "random"], "asha");
    this.rungs = h("p", { class: "meta", id: "rung-preview", "aria-live": "polite" });
    this.seed = whole("seed", "");
    this.seed.min = "0";
    this.seed.placeholder = "random";
    this.alias = /** @type {HTMLInputElement} */ (
      h("input", { name: "alias", autocomplete: "off", placeholder: "none" })
    );
    this.keep = select("keep", ["best", "all"], "best");
    this.summary = h("div", { "aria-live": "polite" });
    this.submit = h("button", { type: "submit", class: "primary" }, "Start study");
    this.el = this.render();

    this.describeTarget();
    this.previewRungs();
    this.target.addEventListener("change", () => this.describeTarget());
    this.metric.addEventListener("change", () => this.describeMetric());
    this.datasetSelect.addEventListener("change", () => void this.changeDataset());
    for (const control of [...Object.values(this.budget), this.scheduler]) {
      control.addEventListener("input", () => this.previewRungs());
    }
    this.el.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.send();
    });
  }

  spaceControls() {
    const [lrLow, lrHigh] = DEFAULTS.learningRate;
    const [dropLow, dropHigh] = DEFAULTS.dropout;
    return {
      layers: /** @type {HTMLInputElement} */ (
        h("input", { name: "layers", value: DEFAULTS.layers, autocomplete: "off" })
      ),
      activations: ACTIVATIONS.map(
        (a) =>
          /** @type {HTMLInputElement} */ (
            h("input", {
              type: "checkbox",
              id: `activation-${a}`,
              name: "activation",
              value: a,
              checked: DEFAULTS.activations.includes(a),
              "data-path": "space.activation",
            })
          ),
      ),
      lrLow: number("lrLow", lrLow, { min: 0 }),
      lrHigh: number("lrHigh", lrHigh, { min: 0 }),
      dropLow: number("dropLow", dropLow, { min: 0, max: 0.99, step: 0.05 }),
      dropHigh: number("dropHigh", dropHigh, { min: 0, max: 0.99, step: 0.05 }),
      batchSize: /** @type {HTMLInputElement} */ (
        h("input", { name: "batchSize", value: DEFAULTS.batchSize, autocomplete: "off" })
      ),
    };
  }

  render() {
    const b = this.budget;
    return h(
      "form",
      { id: "study-form", novalidate: true, "aria-labelledby": "study-title" },
      h(
        "fieldset",
        {},
        h("legend", {}, "Data"),
        h(
          "div",
          { class: "fields" },
          field("dataset", "Dataset", this.datasetSelect),
          field("target", "Target column", this.target, "The column to predict."),
          field("model", "Model name", this.model, "Each trial trains a version of it."),
          field("name", "Study name", this.name),
        ),
        this.task,
      ),
      h(
        "fieldset",
        {},
        h("legend", {}, "Objective"),
        h(
          "div",
          { class: "fields" },
          h("div", {}, field("objective.metric", "Judge trials by", this.metric), this.direction),
        ),
      ),
      this.spaceFields(),
      h(
        "fieldset",
        {},
        h("legend", {}, "Budget"),
        h(
          "div",
          { class: "fields" },
          field("budget.trials", "Trials", b.trials, "Networks sampled from the space."),
          field("scheduler", "Scheduler", this.scheduler, "asha stops weak trials early."),
          field("budget.minEpochs", "Min epochs", b.minEpochs, "Before the first judgement."),
          field("budget.maxEpochs", "Max epochs", b.maxEpochs, "What the best trials reach."),
          field(
            "budget.reductionFactor",
            "Reduction factor η",
            b.reductionFactor,
            "The top 1/η of a rung go on.",
          ),
          field(
            "budget.maxConcurrent",
            "At once",
            b.maxConcurrent,
            "Training jobs queued or running together.",
          ),
        ),
        this.rungs,
      ),
      h(
        "fieldset",
        {},
        h("legend", {}, "When it ends"),
        h(
          "div",
          { class: "fields" },
          field("promote.alias", "Promote the winner to", this.alias, "An alias; blank: none."),
          field("keep", "Keep", this.keep, "best: the winner only; all: each trial's last."),
          field("seed", "Seed", this.seed, "Blank: a random one, recorded."),
        ),
      ),
      this.summary,
      h("div", { class: "actions" }, this.submit),
    );
  }

  spaceFields() {
    const s = this.space;
    return h(
      "fieldset",
      {},
      h("legend", {}, "Search space"),
      h(
        "div",
        { class: "fields" },
        field(
          "space.layers",
          "Hidden layers",
          s.layers,
          "Options split by ';', widths by ',': 16; 32, 16.",
        ),
        h(
          "fieldset",
          { class: "field checks", "data-field": "space.activation" },
          h("legend", { class: "field-label" }, "Activations"),
          h(
            "div",
            { class: "check-list" },
            s.activations.map((box) => h("label", { class: "check-inline" }, box, box.value)),
          ),
        ),
        field("space.learningRate.logUniform[0]", "Learning rate from", s.lrLow),
        field(
          "space.learningRate.logUniform[1]",
          "Learning rate to",
          s.lrHigh,
          "Drawn on a log scale between the two.",
        ),
        field("space.dropout.uniform[0]", "Dropout from", s.dropLow),
        field("space.dropout.uniform[1]", "Dropout to", s.dropHigh, "After every hidden layer."),
        field("space.batchSize", "Batch sizes", s.batchSize, "Options split by ','."),
      ),
    );
  }

  targetColumn() {
    return this.dataset.columns.find((c) => c.name === this.target.value);
  }

  /** The objectives the target's type can give, the one chosen kept when it still can. */
  describeTarget() {
    const column = this.targetColumn();
    if (!column) return;
    const classes = column.type === "categorical";
    const kept = this.metric.value;
    const metrics = OBJECTIVES[classes ? "classification" : "regression"];
    replace(
      this.metric,
      metrics.map((m) => h("option", { value: m, selected: m === kept }, metricLabel(m))),
    );
    this.task.textContent = classes
      ? `Task: classification (${column.name} is categorical, ${column.categories.length} classes)`
      : `Task: regression (${column.name} is numeric)`;
    this.describeMetric();
  }

  describeMetric() {
    const metric = this.metric.value;
    const held = metric.startsWith("val") ? " on 20 % of the training rows held out" : "";
    this.direction.textContent = `${lowerIsBetter(metric) ? "Lower" : "Higher"} is better${held}.`;
  }

  previewRungs() {
    const b = this.budget;
    const [min, max, eta, trials] = [b.minEpochs, b.maxEpochs, b.reductionFactor, b.trials].map(
      (c) => Number(c.value),
    );
    const rungs = previewRungs(min, max, eta, this.scheduler.value);
    if (!rungs) {
      this.rungs.textContent = "Min epochs, max epochs and η must be whole numbers, min ≤ max.";
      return;
    }
    const all = Number.isInteger(trials) ? ` Every trial to the end: ${trials * max} epochs.` : "";
    this.rungs.textContent =
      rungs.length === 1
        ? `Each trial trains ${rungs[0]} epochs.${all}`
        : `Trials are judged at ${rungs.join(", ")} epochs; the top 1/${eta} of each rung go on.${all}`;
  }

  async changeDataset() {
    this.dataset = await api("GET", `/datasets/${encodeURIComponent(this.datasetSelect.value)}`);
    replace(
      this.target,
      this.dataset.columns.map((c) => h("option", { value: c.name }, c.name)),
    );
    this.target.value = this.dataset.columns.at(-1)?.name ?? "";
    this.describeTarget();
  }

  /** The request the form makes; blank optional fields are left out. */
  request() {
    const s = this.space;
    const b = this.budget;
    /** @type {Record<string, unknown>} */
    const space = {
      activation: { choice: s.activations.filter((box) => box.checked).map((box) => box.value) },
      learningRate: { logUniform: [num(s.lrLow.value), num(s.lrHigh.value)] },
      dropout: { uniform: [num(s.dropLow.value), num(s.dropHigh.value)] },
    };
    if (s.layers.value.trim() !== "") space.layers = { choice: layerChoices(s.layers.value) };
    if (s.batchSize.value.trim() !== "") space.batchSize = { choice: numbers(s.batchSize.value) };
    return {
      ...(this.name.value.trim() ? { name: this.name.value.trim() } : {}),
      model: this.model.value.trim(),
      dataset: this.datasetSelect.value,
      target: this.target.value,
      objective: { metric: this.metric.value },
      space,
      budget: {
        trials: num(b.trials.value),
        minEpochs: num(b.minEpochs.value),
        maxEpochs: num(b.maxEpochs.value),
        reductionFactor: num(b.reductionFactor.value),
        maxConcurrent: num(b.maxConcurrent.value),
      },
      scheduler: this.scheduler.value,
      ...(this.seed.value.trim() ? { seed: num(this.seed.value) } : {}),
      ...(this.alias.value.trim() ? { promote: { alias: this.alias.value.trim() } } : {}),
      keep: this.keep.value,
    };
  }

  async send() {
    clearErrors(this.el);
    replace(this.summary);
    this.submit.disabled = true;
    try {
      /** @type {Study} */
      const study = await api("POST", "/studies", this.request());
      location.hash = `#/studies/${study.id}`;
    } catch (error) {
      showProblem(this.el, this.summary, error);
    } finally {
      this.submit.disabled = false;
    }
  }
}

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 */
export async function newStudyView(main, params) {
  /** @type {{ items: DatasetSummary[] }} */
  const page = await api("GET", "/datasets?limit=100");
  const wanted = params.get("dataset");
  const chosen = page.items.find((d) => d.id === wanted) ?? page.items[0];
  const head = [
    h("h1", { id: "study-title", tabindex: "-1" }, "New study"),
    h(
      "p",
      { class: "lede" },
      "A study trains many small networks on one dataset, each with settings drawn from the space below, and keeps the best. Weak trials stop early: each is judged at a few epoch counts (rungs) and only the best go on.",
    ),
  ];
  if (!chosen) {
    replace(
      main,
      ...head,
      h(
        "p",
        { class: "notice" },
        "There is no dataset to search on yet. ",
        h("a", { href: "#/datasets" }, "Upload a dataset"),
        " first.",
      ),
    );
    return;
  }
  /** @type {Dataset} */
  const dataset = await api("GET", `/datasets/${encodeURIComponent(chosen.id)}`);
  replace(main, ...head, new StudyForm(page.items, dataset, params).el);
}
