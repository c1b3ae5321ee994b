// #/train?dataset={id}&model={name}: a training job from the browser. Pick a dataset and its
// target; then either the default recipe (the server picks the network) or an architecture of
// one's own (hidden layers, optimizer, epochs, splits). The server's field messages land next
// to the fields they name; an accepted job opens its live page.
import { api } from "./api.js";
import { h, heading, replace } from "./dom.js";
import { clearErrors, field, num, number, select, showProblem } from "./form.js";

/** @typedef {import("./types.js").Dataset} Dataset */
/** @typedef {import("./types.js").DatasetSummary} DatasetSummary */

const ACTIVATIONS = ["relu", "tanh", "sigmoid", "leakyRelu", "elu", "linear"];
const OPTIMIZERS = ["adam", "sgd", "momentum", "rmsprop"];
let layerIds = 0;

/**
 * The hidden layers of an explicit architecture: rows of units and activation that a person
 * adds and removes. Labels and error paths follow each row's position (`network.layers[1].units`
 * is "Layer 2 units"), so they are renumbered after every change.
 */
class LayerEditor {
  /** @type {HTMLOListElement} */
  list = h("ol", { class: "layer-editor", "aria-label": "Hidden layers" });
  /** @type {HTMLButtonElement} */
  addButton = h("button", { type: "button" }, "Add layer");

  constructor() {
    this.add(16, "relu");
    this.addButton.addEventListener("click", () => {
      this.add(16, "relu");
      /** @type {HTMLElement | null} */ (
        this.list.lastElementChild?.querySelector("input") ?? null
      )?.focus();
    });
  }

  /** @param {number} units @param {string} activation */
  add(units, activation) {
    const i = layerIds++;
    const li = h("li");
    const remove = h("button", { type: "button", class: "quiet" }, "Remove layer");
    remove.addEventListener("click", () => {
      li.remove();
      this.renumber();
    });
    li.append(
      field(
        "units",
        "Units",
        number("units", units, { id: `layer-${i}-units`, min: 1, step: 1, inputmode: "numeric" }),
      ),
      field(
        "activation",
        "Activation",
        select("activation", ACTIVATIONS, activation, { id: `layer-${i}-activation` }),
      ),
      remove,
    );
    this.list.append(li);
    this.renumber();
  }

  renumber() {
    [...this.list.children].forEach((li, i) => {
      for (const [key, label] of [
        ["units", "Units"],
        ["activation", "Activation"],
      ]) {
        const control = /** @type {HTMLInputElement | null} */ (
          li.querySelector(`[name="${key}"]`)
        );
        const wrap = control?.closest(".field");
        if (!control || !wrap) continue;
        control.dataset.path = `network.layers[${i}].${key}`;
        wrap.setAttribute("data-field", control.dataset.path);
        const text = wrap.querySelector("label");
        if (text) text.textContent = `Layer ${i + 1} ${label.toLowerCase()}`;
      }
      const remove = li.querySelector("button");
      if (remove) remove.setAttribute("aria-label", `Remove layer ${i + 1}`);
    });
  }

  /** The hidden layers as the request sends them (a blank units field is left for the server). */
  layers() {
    return [...this.list.children].map((li) => ({
      units: num(/** @type {HTMLInputElement} */ (li.querySelector('[name="units"]')).value),
      activation: /** @type {HTMLSelectElement} */ (li.querySelector('[name="activation"]')).value,
    }));
  }
}

/**
 * The form's state: the chosen dataset (fetched again when the select changes), its controls,
 * and the request each of the two buttons sends.
 */
class TrainForm {
  /**
   * @param {DatasetSummary[]} datasets
   * @param {Dataset} dataset the chosen one, with its columns
   * @param {URLSearchParams} params
   */
  constructor(datasets, dataset, params) {
    /** @type {Dataset} */
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
    this.modelName = /** @type {HTMLInputElement} */ (
      h("input", {
        name: "model",
        value: params.get("model") ?? dataset.name,
        required: true,
        autocomplete: "off",
        pattern: "[A-Za-z0-9][A-Za-z0-9._-]*",
      })
    );
    this.target = select(
      "target",
      dataset.columns.map((c) => c.name),
      dataset.columns.at(-1)?.name,
    );
    this.task = h("p", { id: "task", class: "meta", "aria-live": "polite" });
    this.outputLine = h("p", { class: "meta", id: "output-layer" });
    this.layers = new LayerEditor();
    this.optimizer = select("optimizer", OPTIMIZERS, "adam");
    this.learningRate = number("learningRate", 0.01, { min: 0 });
    this.epochs = number("epochs", 100, { min: 1, step: 1, inputmode: "numeric" });
    this.batchSize = number("batchSize", 16, { min: 1, step: 1, inputmode: "numeric" });
    this.validationSplit = number("validationSplit", 0.2, { min: 0, max: 0.95, step: 0.05 });
    this.testSplit = number("testSplit", 0.2, { min: 0, max: 0.95, step: 0.05 });
    this.patience = number("patience", "", {
      min: 1,
      step: 1,
      inputmode: "numeric",
      placeholder: "off",
    });
    this.summary = h("div", { "aria-live": "polite" });
    this.trainButton = h("button", { type: "submit", class: "primary" }, "Train");
    this.recipeButton = h("button", { type: "button" }, "Use the default recipe");
    this.el = this.render();

    this.describeTarget();
    this.target.addEventListener("change", () => this.describeTarget());
    this.datasetSelect.addEventListener("change", () => void this.changeDataset());
    this.el.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.send(this.explicit(), this.trainButton);
    });
    this.recipeButton.addEventListener(
      "click",
      () => void this.send(this.recipe(), this.recipeButton),
    );
  }

  render() {
    return h(
      "form",
      { id: "train-form", novalidate: true, "aria-labelledby": "train-title" },
      this.dataFields(),
      h(
        "div",
        { class: "card recipe" },
        h(
          "p",
          { class: "lede" },
          "Not sure what network to use? The server picks one that fits the data.",
        ),
        this.recipeButton,
      ),
      h(
        "fieldset",
        {},
        h("legend", {}, "Architecture"),
        this.layers.list,
        h("div", { class: "row" }, this.layers.addButton),
        this.outputLine,
      ),
      this.trainingFields(),
      this.summary,
      h("div", { class: "actions" }, this.trainButton),
    );
  }

  dataFields() {
    return h(
      "fieldset",
      {},
      h("legend", {}, "Data"),
      h(
        "div",
        { class: "fields" },
        field("dataset", "Dataset", this.datasetSelect),
        field(
          "target",
          "Target column",
          this.target,
          "The column to predict; every other column is a feature.",
        ),
        field(
          "model",
          "Model name",
          this.modelName,
          "Letters, digits, . _ -; a new version if the model exists.",
        ),
        field(
          "training.testSplit",
          "Test split",
          this.testSplit,
          "Share of rows held back for the evaluation.",
        ),
      ),
      this.task,
    );
  }

  trainingFields() {
    return h(
      "fieldset",
      {},
      h("legend", {}, "Training"),
      h(
        "div",
        { class: "fields" },
        field("optimizer.name", "Optimizer", this.optimizer),
        field("optimizer.learningRate", "Learning rate", this.learningRate),
        field("training.epochs", "Epochs", this.epochs),
        field("training.batchSize", "Batch size", this.batchSize),
        field(
          "training.validationSplit",
          "Validation split",
          this.validationSplit,
          "Share of training rows for the val curves.",
        ),
        field(
          "training.earlyStopping.patience",
          "Early stopping patience",
          this.patience,
          "Epochs without improvement before it stops; blank: off.",
        ),
      ),
    );
  }

  /** The target's column, as the chosen dataset types it. */
  targetColumn() {
    return this.dataset.columns.find((c) => c.name === this.target.value);
  }

  describeTarget() {
    const column = this.targetColumn();
    if (!column) return;
    const name = this.target.value;
    if (column.type === "categorical") {
      const k = column.categories.length;
      this.task.textContent = `Task: classification (${name} is categorical, ${k} classes)`;
      this.outputLine.textContent = `Output layer: ${k} softmax units, one per class (set by the target).`;
    } else {
      this.task.textContent = `Task: regression (${name} is numeric)`;
      this.outputLine.textContent =
        "Output layer: 1 linear unit, in the target's units (set by the target).";
    }
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

  common() {
    return {
      model: this.modelName.value.trim(),
      dataset: this.datasetSelect.value,
      target: this.target.value,
    };
  }

  /** The request for the architecture in the form; the output layer and loss follow the target. */
  explicit() {
    const column = this.targetColumn();
    const classes = column?.type === "categorical" ? column.categories.length : 0;
    const output =
      classes > 0 ? { units: classes, activation: "softmax" } : { units: 1, activation: "linear" };
    const patience = this.patience.value;
    const stopping =
      patience.trim() === ""
        ? {}
        : {
            earlyStopping: {
              patience: num(patience),
              monitor: Number(this.validationSplit.value) > 0 ? "valLoss" : "loss",
              restoreBestWeights: true,
            },
          };
    return {
      ...this.common(),
      network: { layers: [...this.layers.layers(), output] },
      loss: classes > 0 ? "categoricalCrossentropy" : "mse",
      optimizer: { name: this.optimizer.value, learningRate: num(this.learningRate.value) },
      training: {
        epochs: num(this.epochs.value),
        batchSize: num(this.batchSize.value),
        validationSplit: num(this.validationSplit.value),
        testSplit: num(this.testSplit.value),
        ...stopping,
      },
    };
  }

  /** The default recipe: the dataset and target only; "auto" asks the server for the network. */
  recipe() {
    return {
      ...this.common(),
      network: "auto",
      training: { testSplit: num(this.testSplit.value) },
    };
  }

  /** @param {unknown} body @param {HTMLButtonElement} button */
  async send(body, button) {
    const form = this.el;
    clearErrors(form);
    replace(this.summary);
    button.disabled = true;
    try {
      const accepted = await api("POST", "/train", body);
      location.hash = `#/jobs/${accepted.jobId}`;
    } catch (error) {
      showProblem(form, this.summary, error);
    } finally {
      button.disabled = false;
    }
  }
}

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 * @param {AbortSignal} _signal
 */
export async function trainView(main, params, _signal) {
  /** @type {{ items: DatasetSummary[] }} */
  const page = await api("GET", "/datasets?limit=100");
  const wanted = params.get("dataset");
  const chosen = page.items.find((d) => d.id === wanted) ?? page.items[0];
  if (!chosen) {
    replace(
      main,
      heading("Train a model"),
      h(
        "p",
        { class: "notice" },
        "There is no dataset to train on yet. ",
        h("a", { href: "#/datasets" }, "Upload a dataset"),
        " first.",
      ),
    );
    return;
  }
  /** @type {Dataset} */
  const dataset = await api("GET", `/datasets/${encodeURIComponent(chosen.id)}`);
  const form = new TrainForm(page.items, dataset, params);
  replace(
    main,
    heading("Train a model"),
    h(
      "p",
      { class: "lede" },
      "Train a feedforward network on an uploaded dataset. The job runs in the queue; its page shows the curves live.",
    ),
    form.el,
  );
}
