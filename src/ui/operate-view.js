// Operating a model (issue 23, docs/operate.md): #/operate lists the models; #/operate/{name}
// scores a stored dataset as a batch job (progress, then a CSV download), shows the drift of
// each feature's live inputs (flagged above PSI 0.2) and the live accuracy from feedback.
import { api, authHeaders } from "./api.js";
import { backLink, formatTime, h, heading, replace, scrollBox, statusBadge } from "./dom.js";
import { figures } from "./evaluation.js";
import { problemView } from "./try-it.js";

/** @typedef {import("./types.js").Model} Model */
/** @typedef {import("./types.js").ModelSummary} ModelSummary */
/** @typedef {import("./types.js").DatasetSummary} DatasetSummary */
/** @typedef {import("./types.js").BatchPrediction} BatchPrediction */
/** @typedef {import("./types.js").DriftReport} DriftReport */
/** @typedef {import("./types.js").Performance} Performance */

/** The API's threshold (src/prediction/drift/psi.ts); the report carries it too. */
const DRIFT_THRESHOLD = 0.2;
const POLL_MS = 1000;
const WINDOWS = [
  ["1h", "last hour"],
  ["1d", "last day"],
  ["7d", "last 7 days"],
];

/** @param {string} name */
const modelPath = (name) => `/models/${encodeURIComponent(name)}`;

/**
 * #/operate: the models, each a link to its operate page.
 * @param {HTMLElement} main
 */
export async function operateListView(main) {
  /** @type {{ items: ModelSummary[] }} */
  const models = await api("GET", "/models");
  replace(
    main,
    heading("Operate"),
    h(
      "p",
      { class: "lede" },
      "Score stored datasets in bulk, watch the live inputs drift from the training data, and follow the accuracy that feedback shows.",
    ),
    models.items.length === 0
      ? h(
          "p",
          { class: "notice" },
          "No models yet. ",
          h("a", { href: "#/train" }, "Train one"),
          ".",
        )
      : h(
          "ul",
          { class: "card-list" },
          models.items.map((m) =>
            h(
              "li",
              { class: "card" },
              h("h2", {}, h("a", { href: `#/operate/${encodeURIComponent(m.name)}` }, m.name)),
              h(
                "p",
                { class: "meta" },
                `${m.versionCount} version${m.versionCount === 1 ? "" : "s"}`,
                m.latestVersion ? ` · newest ready v${m.latestVersion}` : " · none ready yet",
              ),
            ),
          ),
        ),
  );
}

/**
 * #/operate/{name}: the three panels, for the version chosen at the top.
 * @param {HTMLElement} main
 * @param {string} name
 * @param {AbortSignal} signal
 */
export async function operateView(main, name, signal) {
  /** @type {[Model, { items: DatasetSummary[] }]} */
  const [model, datasets] = await Promise.all([
    api("GET", modelPath(name)),
    api("GET", "/datasets?limit=100").catch(() => ({ items: [] })),
  ]);
  const page = new OperatePage(model, datasets.items, signal);
  replace(main, ...page.render());
  page.refresh();
}

/**
 * One model's operate page: the chosen version, and the batch job it follows (polled until it
 * ends or the page is left).
 */
class OperatePage {
  /** @type {BatchPrediction | null} */
  batch = null;

  /**
   * @param {Model} model
   * @param {DatasetSummary[]} datasets
   * @param {AbortSignal} signal
   */
  constructor(model, datasets, signal) {
    this.model = model;
    this.datasets = datasets;
    this.signal = signal;
    this.ready = model.versions.filter((v) => v.status === "ready").reverse();
    this.versionSelect = /** @type {HTMLSelectElement} */ (
      h(
        "select",
        { id: "operate-version", name: "version" },
        this.ready.map((v) => h("option", { value: String(v.version) }, `v${v.version}`)),
      )
    );
    this.versionSelect.addEventListener("change", () => this.refresh());
    this.driftWindow = windowSelect("drift-window");
    this.driftWindow.addEventListener("change", () => void this.loadDrift());
    this.liveWindow = windowSelect("live-window", "1d");
    this.liveWindow.addEventListener("change", () => void this.loadPerformance());
    this.batchStatus = h("div", { id: "batch-status", role: "status" });
    this.driftBody = h("div");
    this.liveBody = h("div");
  }

  get version() {
    return Number(this.versionSelect.value);
  }

  render() {
    const name = this.model.name;
    const head = [
      backLink("#/operate", "All models"),
      h(
        "div",
        { class: "page-head" },
        heading(`Operate ${name}`),
        h("a", { class: "button", href: `#/models/${encodeURIComponent(name)}` }, "Model page"),
      ),
    ];
    if (this.ready.length === 0) {
      return [...head, h("p", { class: "notice" }, "No version is ready yet: nothing to operate.")];
    }
    return [
      ...head,
      h(
        "div",
        { class: "toolbar" },
        h(
          "div",
          { class: "field" },
          h("label", { for: this.versionSelect.id }, "Version"),
          this.versionSelect,
        ),
      ),
      this.batchPanel(),
      panel(
        "drift-h",
        "Drift",
        h("div", { class: "toolbar" }, field("drift-window", "Window", this.driftWindow)),
        this.driftBody,
      ),
      panel(
        "live-h",
        "Live accuracy",
        h("div", { class: "toolbar" }, field("live-window", "Window", this.liveWindow)),
        this.liveBody,
      ),
    ];
  }

  refresh() {
    if (this.ready.length === 0) return;
    void this.loadDrift();
    void this.loadPerformance();
  }

  batchPanel() {
    if (this.datasets.length === 0) {
      return panel(
        "batch-h",
        "Batch scoring",
        h(
          "p",
          { class: "notice" },
          "Scoring reads a stored dataset. ",
          h("a", { href: "#/datasets" }, "Upload a dataset"),
          " with the rows to score first.",
        ),
      );
    }
    const dataset = /** @type {HTMLSelectElement} */ (
      h(
        "select",
        { id: "batch-dataset", name: "dataset" },
        this.datasets.map((d) => h("option", { value: d.id }, `${d.name} (${d.rows} rows)`)),
      )
    );
    const passthrough = /** @type {HTMLInputElement} */ (
      h("input", {
        id: "batch-passthrough",
        name: "passthrough",
        autocomplete: "off",
        placeholder: "customer_id",
        "aria-describedby": "batch-passthrough-help",
      })
    );
    const explain = /** @type {HTMLInputElement} */ (
      h("input", { id: "batch-explain", name: "explain", type: "checkbox" })
    );
    const start = h("button", { type: "submit", class: "primary" }, "Score dataset");
    const form = h(
      "form",
      { id: "batch-form", "aria-labelledby": "batch-h", novalidate: true },
      h(
        "div",
        { class: "fields" },
        field("batch-dataset", "Dataset", dataset),
        field(
          "batch-passthrough",
          "Passthrough columns",
          passthrough,
          "Columns copied into each result row, comma separated (an id, the known answer).",
        ),
      ),
      h(
        "label",
        { class: "check", for: explain.id },
        explain,
        "Explain each row (attributions per feature; slower)",
      ),
      h("div", { class: "actions" }, start),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      start.disabled = true;
      try {
        /** @type {BatchPrediction} */
        const job = await api("POST", `${modelPath(this.model.name)}/batch-predictions`, {
          dataset: dataset.value,
          version: this.version,
          passthrough: passthrough.value
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
          // Columns that are neither features nor passthrough (the target, ids) are skipped.
          ignoreExtraColumns: true,
          explain: explain.checked,
        });
        await this.follow(job);
      } catch (error) {
        replace(this.batchStatus, problemView(error));
      } finally {
        start.disabled = false;
      }
    });
    return panel(
      "batch-h",
      "Batch scoring",
      h(
        "p",
        { class: "meta" },
        "Runs in the queue over every row of the dataset; the results download as CSV.",
      ),
      form,
      this.batchStatus,
    );
  }

  /** @param {BatchPrediction} job polls it until it ends or the page is left */
  async follow(job) {
    this.batch = job;
    for (;;) {
      this.showBatch(job);
      if (job.status !== "queued" && job.status !== "running") return;
      if (this.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (this.signal.aborted) return;
      job = await api("GET", `/batch-predictions/${job.id}`);
      this.batch = job;
    }
  }

  /** @param {BatchPrediction} job */
  showBatch(job) {
    const done = job.status === "succeeded";
    replace(
      this.batchStatus,
      h(
        "p",
        { class: "row" },
        statusBadge(job.status),
        h("progress", {
          class: "progress-wide",
          max: Math.max(job.totalRows, 1),
          value: job.rowsDone,
          "aria-label": `${job.rowsDone} of ${job.totalRows} rows scored`,
        }),
        `${job.rowsDone} of ${job.totalRows} rows`,
      ),
      h(
        "p",
        { class: "meta" },
        `v${job.version} · started ${formatTime(job.startedAt)} · finished ${formatTime(job.finishedAt)}`,
      ),
      job.error
        ? h("div", { class: "error-box", role: "alert" }, h("strong", {}, "Failed: "), job.error)
        : null,
      done ? downloadButton(job) : null,
    );
  }

  async loadDrift() {
    const url = `${modelPath(this.model.name)}/versions/${this.version}/drift?window=${this.driftWindow.value}`;
    try {
      /** @type {DriftReport} */
      const report = await api("GET", url);
      replace(this.driftBody, driftTable(report));
    } catch (error) {
      replace(this.driftBody, problemView(error));
    }
  }

  async loadPerformance() {
    const url = `${modelPath(this.model.name)}/versions/${this.version}/performance?window=${this.liveWindow.value}`;
    try {
      /** @type {Performance} */
      const p = await api("GET", url);
      replace(this.liveBody, performanceView(p, this.model, this.version));
    } catch (error) {
      replace(this.liveBody, problemView(error));
    }
  }
}

/**
 * @param {string} id
 * @param {string} title
 * @param {...(HTMLElement | null)} children
 */
function panel(id, title, ...children) {
  return h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), children);
}

/**
 * @param {string} id
 * @param {string} label
 * @param {HTMLElement} control
 * @param {string} [help]
 */
function field(id, label, control, help) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    help ? h("p", { class: "help", id: `${id}-help` }, help) : null,
  );
}

/** @param {string} id @param {string} [selected] */
function windowSelect(id, selected = "1h") {
  return /** @type {HTMLSelectElement} */ (
    h(
      "select",
      { id, name: "window" },
      WINDOWS.map(([value, label]) => h("option", { value, selected: value === selected }, label)),
    )
  );
}

// A link cannot send the Authorization header: the CSV is fetched, then saved from a blob.
/** @param {BatchPrediction} job */
function downloadButton(job) {
  const message = h("div");
  const button = h("button", { type: "button", class: "primary" }, "Download CSV");
  button.addEventListener("click", async () => {
    replace(message);
    try {
      const response = await fetch(`/batch-predictions/${job.id}/results?format=csv`, {
        headers: authHeaders(),
      });
      if (!response.ok) throw await response.json();
      const url = URL.createObjectURL(await response.blob());
      const a = h("a", { href: url, download: `${job.model}-v${job.version}-batch-${job.id}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      URL.revokeObjectURL(url);
    } catch (error) {
      replace(message, problemView(error));
    }
  });
  return h("div", { class: "actions" }, button, message);
}

/** @param {DriftReport} report */
function driftTable(report) {
  const threshold = report.threshold ?? DRIFT_THRESHOLD;
  const drifted = report.features.filter((f) => f.psi > threshold);
  // Bars on one scale: the threshold sits at the same place in every row.
  const scale = Math.max(threshold * 2.5, ...report.features.map((f) => f.psi));
  const summary = h(
    "p",
    {},
    `${report.rows} sampled rows in the ${windowName(report.window)}. `,
    drifted.length === 0
      ? `No feature above PSI ${threshold}.`
      : h(
          "strong",
          {},
          `${drifted.length} of ${report.features.length} features above PSI ${threshold}.`,
        ),
  );
  if (report.rows === 0) {
    return [
      summary,
      h(
        "p",
        { class: "notice" },
        "No live input was sampled in this window (DRIFT_SAMPLE_RATE sets the share of requests counted).",
      ),
    ];
  }
  const rows = [...report.features]
    .sort((a, b) => b.psi - a.psi)
    .map((f) => {
      const fill = h("span");
      fill.style.width = `${Math.min(100, (f.psi / scale) * 100)}%`;
      const over = f.psi > threshold;
      return h(
        "tr",
        { "data-feature": f.feature },
        h("th", { scope: "row", "data-label": "feature" }, f.feature),
        h("td", { "data-label": "type" }, f.type),
        h("td", { "data-label": "PSI", class: "num" }, f.psi.toFixed(3)),
        h(
          "td",
          { "data-label": "" },
          h("span", { class: over ? "bar psi over" : "bar psi", "aria-hidden": "true" }, fill),
        ),
        h(
          "td",
          { "data-label": "status" },
          h(
            "span",
            { class: `status ${over ? "status-drifted" : "status-stable"}` },
            over ? "drifted" : "stable",
          ),
          f.unseenShare ? ` ${(f.unseenShare * 100).toFixed(1)} % unseen categories` : "",
        ),
      );
    });
  return [
    summary,
    scrollBox(
      "Drift per feature",
      h(
        "table",
        { class: "stack drift" },
        h("caption", { class: "visually-hidden" }, "Drift per feature, largest first"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "feature"),
            h("th", { scope: "col" }, "type"),
            h("th", { scope: "col", class: "num" }, "PSI"),
            h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "PSI as a bar")),
            h("th", { scope: "col" }, "status"),
          ),
        ),
        h("tbody", {}, rows),
      ),
    ),
    h(
      "p",
      { class: "help" },
      "PSI (population stability index) compares the live inputs' share in each training bin with the training data's; above 0.2 the inputs have moved enough to check the model.",
    ),
  ];
}

/** @param {string} window */
function windowName(window) {
  return WINDOWS.find(([value]) => value === window)?.[1] ?? `last ${window}`;
}

/**
 * @param {Performance} p
 * @param {Model} model
 * @param {number} version
 */
function performanceView(p, model, version) {
  const target = model.versions.find((v) => v.version === version)?.preprocessing?.target;
  const classifier = p.accuracy !== undefined;
  const score = classifier ? p.accuracy : p.mae;
  const label = classifier ? "Accuracy" : `MAE${target ? ` (${target.name})` : ""}`;
  const shown =
    score === null || score === undefined
      ? "—"
      : classifier
        ? `${(score * 100).toFixed(1)} %`
        : String(Number(score.toPrecision(4)));
  return [
    figures([
      [label, shown],
      ["Predictions logged", String(p.predictions)],
      ["With feedback", String(p.withFeedback)],
    ]),
    h(
      "p",
      { class: "meta" },
      `${p.withFeedback} of ${p.predictions} logged predictions with feedback in the ${windowName(p.window)}.`,
    ),
    p.predictions === 0
      ? h(
          "p",
          { class: "notice" },
          "No prediction was logged in this window: PREDICTION_LOG_RATE sets the share logged, and POST /models/{name}/feedback sends the truth for their predictionIds.",
        )
      : null,
  ];
}
