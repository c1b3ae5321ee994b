// #/train?dataset={id}&model={name}: a training job from the browser. Pick a dataset and its
// target; then either the default recipe (the server picks the network) or an architecture of
// one's own (hidden layers, optimizer, epochs, splits). The server's field messages land next
// to the fields they name; an accepted job opens its live page.
import { ApiError, api } from "./api.js";
import { h, heading, replace } from "./dom.js";
import { problemView } from "./try-it.js";

/** @typedef {import("./types.js").Dataset} Dataset */
/** @typedef {import("./types.js").DatasetSummary} DatasetSummary */

const ACTIVATIONS = ["relu", "tanh", "sigmoid", "leakyRelu", "elu", "linear"];
const OPTIMIZERS = ["adam", "sgd", "momentum", "rmsprop"];
let layerIds = 0;

/**
 * A labelled control whose error line the form fills from the server's `errors[].path`.
 * @param {string} path the request field it sets, as the API names it in errors
 * @param {string} label
 * @param {HTMLInputElement | HTMLSelectElement} control
 * @param {string} [help]
 */
function field(path, label, control, help) {
  const id = control.id || `f-${path.replace(/[^a-zA-Z0-9]+/g, "-")}`;
  control.id = id;
  control.dataset.path = path;
  const helpEl = help ? h("p", { class: "help", id: `${id}-help` }, help) : null;
  if (helpEl) control.setAttribute("aria-describedby", helpEl.id);
  return h(
    "div",
    { class: "field", "data-field": path },
    h("label", { for: id }, label),
    control,
    helpEl,
  );
}

/**
 * @param {string} name
 * @param {string[]} values
 * @param {string} [selected]
 * @param {Record<string, unknown>} [attrs]
 */
function select(name, values, selected, attrs = {}) {
  return /** @type {HTMLSelectElement} */ (
    h(
      "select",
      { name, ...attrs },
      values.map((v) => h("option", { value: v, selected: v === selected }, v)),
    )
  );
}

/**
 * @param {string} name
 * @param {string | number} value
 * @param {Record<string, unknown>} [attrs]
 */
function number(name, value, attrs = {}) {
  return /** @type {HTMLInputElement} */ (
    h("input", { name, type: "number", value, step: "any", inputmode: "decimal", ...attrs })
  );
}

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 * @param {AbortSignal} _signal
 */
export async function trainView(main, params, _signal) {
  /** @type {{ items: DatasetSummary[] }} */
  const page = await api("GET", "/datasets?limit=100");
  if (page.items.length === 0) {
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
  const wanted = params.get("dataset");
  const chosen = page.items.find((d) => d.id === wanted) ?? page.items[0];
  if (!chosen) return;
  /** @type {Dataset} */
  let dataset = await api("GET", `/datasets/${encodeURIComponent(chosen.id)}`);

  const datasetSelect = /** @type {HTMLSelectElement} */ (
    h(
      "select",
      { name: "dataset" },
      page.items.map((d) =>
        h("option", { value: d.id, selected: d.id === chosen.id }, `${d.name} (${d.rows} rows)`),
      ),
    )
  );
  const modelName = /** @type {HTMLInputElement} */ (
    h("input", {
      name: "model",
      value: params.get("model") ?? dataset.name,
      required: true,
      autocomplete: "off",
      pattern: "[A-Za-z0-9][A-Za-z0-9._-]*",
    })
  );
  const target = select(
    "target",
    dataset.columns.map((c) => c.name),
    dataset.columns.at(-1)?.name,
  );
  const task = h("p", { id: "task", class: "meta", "aria-live": "polite" });
  const outputLine = h("p", { class: "meta", id: "output-layer" });

  const layers = h("ol", { class: "layer-editor", "aria-label": "Hidden layers" });
  const addLayer = (/** @type {number} */ units, /** @type {string} */ activation) => {
    const i = layerIds++;
    const li = h("li");
    const remove = h("button", { type: "button", class: "quiet" }, "Remove layer");
    remove.addEventListener("click", () => {
      li.remove();
      renumber();
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
    layers.append(li);
    renumber();
  };
  // Labels say which layer they belong to, and error paths follow the layer's position.
  const renumber = () => {
    [...layers.children].forEach((li, i) => {
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
  };
  addLayer(16, "relu");
  const add = h("button", { type: "button" }, "Add layer");
  add.addEventListener("click", () => {
    addLayer(16, "relu");
    /** @type {HTMLElement | null} */ (
      layers.lastElementChild?.querySelector("input") ?? null
    )?.focus();
  });

  const optimizer = select("optimizer", OPTIMIZERS, "adam");
  const learningRate = number("learningRate", 0.01, { min: 0 });
  const epochs = number("epochs", 100, { min: 1, step: 1, inputmode: "numeric" });
  const batchSize = number("batchSize", 16, { min: 1, step: 1, inputmode: "numeric" });
  const validationSplit = number("validationSplit", 0.2, { min: 0, max: 0.95, step: 0.05 });
  const testSplit = number("testSplit", 0.2, { min: 0, max: 0.95, step: 0.05 });
  const patience = number("patience", "", {
    min: 1,
    step: 1,
    inputmode: "numeric",
    placeholder: "off",
  });

  const describeTarget = () => {
    const column = dataset.columns.find((c) => c.name === target.value);
    if (!column) return;
    if (column.type === "categorical") {
      const k = column.categories.length;
      task.textContent = `Task: classification (${target.value} is categorical, ${k} classes)`;
      outputLine.textContent = `Output layer: ${k} softmax units, one per class (set by the target).`;
    } else {
      task.textContent = `Task: regression (${target.value} is numeric)`;
      outputLine.textContent =
        "Output layer: 1 linear unit, in the target's units (set by the target).";
    }
  };
  describeTarget();
  target.addEventListener("change", describeTarget);
  datasetSelect.addEventListener("change", async () => {
    dataset = await api("GET", `/datasets/${encodeURIComponent(datasetSelect.value)}`);
    replace(
      target,
      dataset.columns.map((c) => h("option", { value: c.name }, c.name)),
    );
    target.value = dataset.columns.at(-1)?.name ?? "";
    describeTarget();
  });

  const summary = h("div", { "aria-live": "polite" });
  const trainButton = h("button", { type: "submit", class: "primary" }, "Train");
  const recipeButton = h("button", { type: "button" }, "Use the default recipe");
  const form = h(
    "form",
    { id: "train-form", novalidate: true, "aria-labelledby": "train-title" },
    h(
      "fieldset",
      {},
      h("legend", {}, "Data"),
      h(
        "div",
        { class: "fields" },
        field("dataset", "Dataset", datasetSelect),
        field(
          "target",
          "Target column",
          target,
          "The column to predict; every other column is a feature.",
        ),
        field(
          "model",
          "Model name",
          modelName,
          "Letters, digits, . _ -; a new version if the model exists.",
        ),
        field(
          "training.testSplit",
          "Test split",
          testSplit,
          "Share of rows held back for the evaluation.",
        ),
      ),
      task,
    ),
    h(
      "div",
      { class: "card recipe" },
      h(
        "p",
        { class: "lede" },
        "Not sure what network to use? The server picks one that fits the data.",
      ),
      recipeButton,
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Architecture"),
      layers,
      h("div", { class: "row" }, add),
      outputLine,
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Training"),
      h(
        "div",
        { class: "fields" },
        field("optimizer.name", "Optimizer", optimizer),
        field("optimizer.learningRate", "Learning rate", learningRate),
        field("training.epochs", "Epochs", epochs),
        field("training.batchSize", "Batch size", batchSize),
        field(
          "training.validationSplit",
          "Validation split",
          validationSplit,
          "Share of training rows for the val curves.",
        ),
        field(
          "training.earlyStopping.patience",
          "Early stopping patience",
          patience,
          "Epochs without improvement before it stops; blank: off.",
        ),
      ),
    ),
    summary,
    h("div", { class: "actions" }, trainButton),
  );

  /** @param {string} value */
  const num = (value) => (value.trim() === "" ? value : Number(value));
  const common = () => ({
    model: modelName.value.trim(),
    dataset: datasetSelect.value,
    target: target.value,
  });
  const explicit = () => {
    const column = dataset.columns.find((c) => c.name === target.value);
    const classes = column?.type === "categorical" ? column.categories.length : 0;
    const hidden = [...layers.children].map((li) => ({
      units: num(/** @type {HTMLInputElement} */ (li.querySelector('[name="units"]')).value),
      activation: /** @type {HTMLSelectElement} */ (li.querySelector('[name="activation"]')).value,
    }));
    const output =
      classes > 0 ? { units: classes, activation: "softmax" } : { units: 1, activation: "linear" };
    const stopping =
      patience.value.trim() === ""
        ? {}
        : {
            earlyStopping: {
              patience: num(patience.value),
              monitor: Number(validationSplit.value) > 0 ? "valLoss" : "loss",
              restoreBestWeights: true,
            },
          };
    return {
      ...common(),
      network: { layers: [...hidden, output] },
      loss: classes > 0 ? "categoricalCrossentropy" : "mse",
      optimizer: { name: optimizer.value, learningRate: num(learningRate.value) },
      training: {
        epochs: num(epochs.value),
        batchSize: num(batchSize.value),
        validationSplit: num(validationSplit.value),
        testSplit: num(testSplit.value),
        ...stopping,
      },
    };
  };
  // The default recipe: the dataset and target only; "auto" asks the server for the network.
  const recipe = () => ({
    ...common(),
    network: "auto",
    training: { testSplit: num(testSplit.value) },
  });

  /** @param {unknown} body @param {HTMLButtonElement} button */
  const send = async (body, button) => {
    clearErrors(form);
    replace(summary);
    button.disabled = true;
    try {
      const accepted = await api("POST", "/train", body);
      location.hash = `#/jobs/${accepted.jobId}`;
    } catch (error) {
      const unplaced = error instanceof ApiError ? showErrors(form, error.errors) : [];
      const problem = /** @type {ApiError} */ (error);
      replace(summary, problemView({ message: problem.message, errors: unplaced }));
      /** @type {HTMLElement | null} */ (
        form.querySelector('[aria-invalid="true"]') ?? summary.querySelector("[role=alert]")
      )?.focus();
    } finally {
      button.disabled = false;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void send(explicit(), trainButton);
  });
  recipeButton.addEventListener("click", () => void send(recipe(), recipeButton));

  replace(
    main,
    heading("Train a model"),
    h(
      "p",
      { class: "lede" },
      "Train a feedforward network on an uploaded dataset. The job runs in the queue; its page shows the curves live.",
    ),
    form,
  );
}

/** @param {HTMLElement} form */
function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    const described = (el.getAttribute("aria-describedby") ?? "")
      .split(" ")
      .filter((id) => !id.endsWith("-error"))
      .join(" ");
    if (described) el.setAttribute("aria-describedby", described);
    else el.removeAttribute("aria-describedby");
  }
}

/**
 * Puts each message under the field its path names (or the nearest one: `training.epochs`
 * under Epochs, `network.layers[1]` under layer 2's units); returns the ones no field took.
 * @param {HTMLElement} form
 * @param {{ path: string, message: string }[]} errors
 */
function showErrors(form, errors) {
  /** @type {{ path: string, message: string }[]} */
  const unplaced = [];
  const controls = /** @type {(HTMLInputElement | HTMLSelectElement)[]} */ ([
    ...form.querySelectorAll("[data-path]"),
  ]);
  for (const error of errors) {
    const control =
      controls.find((c) => c.dataset.path === error.path) ??
      controls.find((c) => c.dataset.path?.startsWith(`${error.path}.`)) ??
      controls.find((c) => error.path.startsWith(`${c.dataset.path}.`));
    if (!control) {
      unplaced.push(error);
      continue;
    }
    const id = `${control.id}-error`;
    const line = h("p", { class: "field-error", id }, error.message);
    control.closest(".field")?.append(line);
    control.setAttribute("aria-invalid", "true");
    control.setAttribute(
      "aria-describedby",
      [control.getAttribute("aria-describedby"), id].filter(Boolean).join(" "),
    );
  }
  return unplaced;
}
