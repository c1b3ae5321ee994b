// @ts-nocheck -- typed in JSDoc by the dashboard follow-up (issue 27); until then it is checked by its browser test only
// Operating a model (docs/operate.md): #/operate lists the models, #/operate/{name} scores a
// stored dataset as a batch job (progress, then a CSV download), shows the drift of the live
// inputs per feature (flagged above PSI 0.2) and the live accuracy from feedback.
import { api, authHeaders } from "./api.js";
import { formatNumber, h, replace, statusBadge } from "./dom.js";
import { problemView } from "./try-it.js";

const DRIFT_THRESHOLD = 0.2;

export async function operateListView(main) {
  const models = await api("GET", "/models");
  replace(
    main,
    h("h1", { tabindex: "-1" }, "Operate"),
    h("p", {}, "Batch scoring, drift and live accuracy of a model's versions."),
    models.items.length === 0
      ? h("p", {}, "No models yet.")
      : h(
          "ul",
          {},
          models.items.map((m) =>
            h("li", {}, h("a", { href: `#/operate/${encodeURIComponent(m.name)}` }, m.name)),
          ),
        ),
  );
}

export async function operateView(main, name, signal) {
  const [model, datasets] = await Promise.all([
    api("GET", `/models/${encodeURIComponent(name)}`),
    api("GET", "/datasets?limit=100").catch(() => ({ items: [] })),
  ]);
  const ready = model.versions.filter((v) => v.status === "ready");
  const versionSelect = h(
    "select",
    { id: "operate-version" },
    ready.map((v) => h("option", { value: String(v.version) }, `version ${v.version}`)),
  );
  const batch = h("section", { "aria-labelledby": "batch-h" });
  const drift = h("section", { "aria-labelledby": "drift-h" });
  const performance = h("section", { "aria-labelledby": "perf-h" });
  replace(
    main,
    h("h1", { tabindex: "-1" }, `Operate ${name}`),
    h("label", { for: "operate-version" }, "Version "),
    versionSelect,
    batch,
    drift,
    performance,
  );
  const version = () => Number(versionSelect.value);
  renderBatch(batch, name, version, datasets.items, signal);
  const refresh = () => {
    void renderDrift(drift, name, version());
    void renderPerformance(performance, name, version());
  };
  versionSelect.addEventListener("change", refresh);
  if (ready.length > 0) refresh();
}

function renderBatch(section, name, version, datasets, signal) {
  const datasetSelect = h(
    "select",
    { id: "batch-dataset" },
    datasets.map((d) => h("option", { value: d.id }, `${d.name} (${d.rows} rows)`)),
  );
  const passthrough = h("input", { id: "batch-passthrough", placeholder: "customer_id, churned" });
  const status = h("div", { role: "status", id: "batch-status" });
  const start = h("button", { type: "submit" }, "Score dataset");
  const form = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        start.disabled = true;
        try {
          const job = await api("POST", `/models/${encodeURIComponent(name)}/batch-predictions`, {
            dataset: datasetSelect.value,
            version: version(),
            passthrough: passthrough.value
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean),
            ignoreExtraColumns: true,
          });
          await follow(status, job.id, signal);
        } catch (error) {
          replace(status, problemView(error));
        } finally {
          start.disabled = false;
        }
      },
    },
    h("label", { for: "batch-dataset" }, "Dataset "),
    datasetSelect,
    h("label", { for: "batch-passthrough" }, " Passthrough columns "),
    passthrough,
    " ",
    start,
  );
  replace(section, h("h2", { id: "batch-h" }, "Batch scoring"), form, status);
}

async function follow(status, id, signal) {
  for (;;) {
    const job = await api("GET", `/batch-predictions/${id}`);
    replace(
      status,
      statusBadge(job.status),
      ` ${job.rowsDone} of ${job.totalRows} rows`,
      job.error ? h("p", {}, job.error) : null,
    );
    if (job.status === "succeeded") {
      status.append(" ", downloadButton(id));
      return;
    }
    if (job.status === "failed" || signal.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// A link cannot send the Authorization header: the CSV is fetched, then saved from a blob.
function downloadButton(id) {
  return h(
    "button",
    {
      type: "button",
      onclick: async () => {
        const response = await fetch(`/batch-predictions/${id}/results?format=csv`, {
          headers: authHeaders(),
        });
        const url = URL.createObjectURL(await response.blob());
        const a = h("a", { href: url, download: `batch-${id}.csv` });
        document.body.append(a);
        a.click();
        a.remove();
        URL.revokeObjectURL(url);
      },
    },
    "Download CSV",
  );
}

async function renderDrift(section, name, version) {
  const window = h(
    "select",
    { id: "drift-window" },
    ["1h", "1d", "7d"].map((w) => h("option", { value: w }, w)),
  );
  const body = h("div");
  const load = async () => {
    try {
      const report = await api(
        "GET",
        `/models/${encodeURIComponent(name)}/versions/${version}/drift?window=${window.value}`,
      );
      replace(
        body,
        h("p", {}, `${report.rows} sampled rows in the last ${report.window}`),
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, h("th", {}, "Feature"), h("th", {}, "PSI"), h("th", {}, ""))),
          h(
            "tbody",
            {},
            report.features.map((f) =>
              h(
                "tr",
                { class: f.psi > DRIFT_THRESHOLD ? "drifted" : undefined },
                h("td", {}, f.feature),
                h("td", {}, formatNumber(f.psi, 3)),
                h(
                  "td",
                  {},
                  f.psi > DRIFT_THRESHOLD ? h("strong", {}, "drifted") : "",
                  f.unseenShare ? ` unseen ${(f.unseenShare * 100).toFixed(1)}%` : "",
                ),
              ),
            ),
          ),
        ),
      );
    } catch (error) {
      replace(body, problemView(error));
    }
  };
  window.addEventListener("change", () => void load());
  replace(
    section,
    h("h2", { id: "drift-h" }, "Drift"),
    h("label", { for: "drift-window" }, "Window "),
    window,
    body,
  );
  await load();
}

async function renderPerformance(section, name, version) {
  try {
    const p = await api(
      "GET",
      `/models/${encodeURIComponent(name)}/versions/${version}/performance?window=1d`,
    );
    const score =
      p.accuracy !== undefined
        ? `accuracy ${p.accuracy === null ? "—" : formatNumber(p.accuracy, 3)}`
        : `MAE ${p.mae === null ? "—" : formatNumber(p.mae, 3)}`;
    replace(
      section,
      h("h2", { id: "perf-h" }, "Live accuracy (last day)"),
      h(
        "p",
        {},
        `${score} over ${p.withFeedback} of ${p.predictions} logged predictions with feedback`,
      ),
    );
  } catch (error) {
    replace(section, h("h2", { id: "perf-h" }, "Live accuracy"), problemView(error));
  }
}
