// #/datasets: upload (drop or pick a CSV, with progress), and the list; #/datasets/{id}: the
// columns the server inferred (changeable right after upload: the file is sent again with the
// chosen types), a preview of the first rows, per-column statistics, delete.
import { api, uploadDataset } from "./api.js";
import { previewFile } from "./csv-preview.js";
import {
  announce,
  backLink,
  confirmDelete,
  formatBytes,
  formatStat,
  formatTime,
  h,
  heading,
  replace,
} from "./dom.js";
import { problemView } from "./try-it.js";

/** @typedef {import("./types.js").Dataset} Dataset */
/** @typedef {import("./types.js").DatasetSummary} DatasetSummary */
/** @typedef {import("./types.js").DatasetColumn} DatasetColumn */
/** @typedef {import("./csv-preview.js").Preview} Preview */

/**
 * The file of the latest upload in this tab, so its dataset page can preview rows and send it
 * again with other column types.
 * @type {{ id: string, name: string, file: File, preview: Promise<Preview> } | undefined}
 */
let lastUpload;

/** @param {string} id */
export const datasetHref = (id) => `#/datasets/${encodeURIComponent(id)}`;

/** @param {HTMLElement} main */
export async function datasetsView(main) {
  const page = await api("GET", "/datasets?limit=100");
  const message = h("div", { "aria-live": "polite" });
  const body = h("tbody");
  /** @param {DatasetSummary[]} items */
  const fill = (items) =>
    replace(
      body,
      items.length === 0
        ? h("tr", {}, h("td", { colspan: 6 }, "No datasets yet: upload a CSV above."))
        : items.map((d) => datasetRow(d, message, () => fill(items.filter((x) => x !== d)))),
    );
  fill(page.items);
  replace(
    main,
    heading("Datasets"),
    h(
      "p",
      { class: "lede" },
      "Upload a CSV with a header row. The server infers each column's type; review them, then train a model on it.",
    ),
    uploadForm(),
    h("h2", {}, "Uploaded datasets"),
    message,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "stack", id: "datasets" },
        h("caption", { class: "visually-hidden" }, "Datasets, newest first"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["name", "rows", "columns", "size", "uploaded", "actions"].map((c) =>
              h("th", { scope: "col" }, c),
            ),
          ),
        ),
        body,
      ),
    ),
  );
}

/**
 * @param {DatasetSummary} d
 * @param {HTMLElement} message
 * @param {() => void} onDeleted
 */
function datasetRow(d, message, onDeleted) {
  return h(
    "tr",
    { "data-dataset": d.id },
    h("td", { "data-label": "name" }, h("a", { href: datasetHref(d.id) }, d.name)),
    h("td", { "data-label": "rows" }, String(d.rows)),
    h("td", { "data-label": "columns" }, String(d.columnCount)),
    h("td", { "data-label": "size" }, formatBytes(d.bytes)),
    h("td", { "data-label": "uploaded" }, formatTime(d.createdAt)),
    h(
      "td",
      { "data-label": "actions" },
      h(
        "div",
        { class: "row" },
        h(
          "a",
          {
            href: `#/train?dataset=${encodeURIComponent(d.id)}`,
            "aria-label": `Train on ${d.name}`,
          },
          "Train",
        ),
        confirmDelete({
          name: d.name,
          what: `Delete dataset "${d.name}"? Models trained from it keep working.`,
          run: async () => {
            await api("DELETE", `/datasets/${encodeURIComponent(d.id)}`);
            announce(`Dataset ${d.name} deleted`);
            onDeleted();
          },
          onError: (error) => replace(message, problemView(error)),
        }),
      ),
    ),
  );
}

/** The upload form: a drop zone around a file input, a name, progress, errors. */
function uploadForm() {
  const file = /** @type {HTMLInputElement} */ (
    h("input", {
      id: "dataset-file",
      name: "file",
      type: "file",
      accept: ".csv,text/csv",
      required: true,
    })
  );
  const name = /** @type {HTMLInputElement} */ (
    h("input", {
      id: "dataset-name",
      name: "name",
      required: true,
      maxlength: 200,
      autocomplete: "off",
    })
  );
  const progress = h("progress", {
    id: "upload-progress",
    max: 1,
    value: 0,
    hidden: true,
    "aria-label": "Upload progress",
    class: "progress-wide",
  });
  const progressText = h("span", { class: "meta", "aria-live": "polite" });
  const result = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, "Upload dataset");
  const zone = h(
    "div",
    { class: "dropzone" },
    h("label", { for: "dataset-file", class: "field-label" }, "CSV file"),
    file,
    h("p", { class: "help", id: "drop-help" }, "Or drop a CSV file here."),
  );
  file.setAttribute("aria-describedby", "drop-help");
  // The name follows the chosen file until the user types one of their own.
  const useFile = (/** @type {File} */ f) => {
    if (!name.value || name.dataset.fromFile) {
      name.value = f.name.replace(/\.csv$/i, "");
      name.dataset.fromFile = "true";
    }
  };
  name.addEventListener("input", () => {
    delete name.dataset.fromFile;
  });
  file.addEventListener("change", () => {
    const f = file.files?.[0];
    if (f) useFile(f);
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const dropped = event.dataTransfer?.files;
    if (dropped && dropped.length > 0) {
      file.files = dropped;
      const f = dropped[0];
      if (f) useFile(f);
    }
  });
  const form = h(
    "form",
    { id: "upload-form", novalidate: true, "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Upload a dataset"),
    h(
      "div",
      { class: "split" },
      zone,
      h(
        "div",
        { class: "field" },
        h("label", { for: "dataset-name" }, "Dataset name"),
        name,
        h("p", { class: "help" }, "1 to 200 characters; defaults to the file's name."),
      ),
    ),
    h("div", { class: "actions" }, submit, progress, progressText),
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = file.files?.[0];
    replace(result);
    if (!f) {
      file.setAttribute("aria-invalid", "true");
      replace(result, h("p", { class: "field-error", role: "alert" }, "Choose a CSV file first."));
      return;
    }
    file.removeAttribute("aria-invalid");
    submit.disabled = true;
    try {
      const dataset = await upload(
        f,
        name.value.trim() || f.name,
        undefined,
        progress,
        progressText,
      );
      location.hash = datasetHref(dataset.id);
    } catch (error) {
      replace(result, problemView(error));
    } finally {
      submit.disabled = false;
    }
  });
  return h("section", { class: "panel" }, form);
}

/**
 * @param {File} file
 * @param {string} name
 * @param {Record<string, string> | undefined} types
 * @param {HTMLProgressElement} progress
 * @param {HTMLElement} text
 * @returns {Promise<Dataset>}
 */
async function upload(file, name, types, progress, text) {
  progress.hidden = false;
  progress.value = 0;
  text.textContent = `Uploading ${formatBytes(file.size)}…`;
  const dataset = await uploadDataset(file, {
    name,
    types,
    onProgress: (loaded, total) => {
      progress.value = loaded / total;
      text.textContent = `Uploading: ${formatBytes(loaded)} of ${formatBytes(total)}`;
    },
  }).finally(() => {
    progress.hidden = true;
  });
  text.textContent = "";
  announce(`Dataset ${dataset.name} uploaded: ${dataset.rows} rows`);
  lastUpload = { id: dataset.id, name, file, preview: previewFile(file) };
  return dataset;
}

/**
 * #/datasets/{id}
 * @param {HTMLElement} main
 * @param {string} id
 * @param {AbortSignal} _signal
 */
export async function datasetView(main, id, _signal) {
  /** @type {Dataset} */
  const dataset = await api("GET", `/datasets/${encodeURIComponent(id)}`);
  const fresh = lastUpload?.id === id ? lastUpload : undefined;
  const preview = fresh ? await fresh.preview.catch(() => undefined) : undefined;
  const message = h("div", { "aria-live": "polite" });
  replace(
    main,
    backLink("#/datasets", "All datasets"),
    h(
      "div",
      { class: "page-head" },
      heading(dataset.name),
      h(
        "div",
        { class: "row" },
        h(
          "a",
          { class: "button primary", href: `#/train?dataset=${encodeURIComponent(id)}` },
          "Train a model",
        ),
        h(
          "a",
          { class: "button", href: `#/studies/new?dataset=${encodeURIComponent(id)}` },
          "Search hyper-parameters",
        ),
        confirmDelete({
          name: dataset.name,
          what: `Delete dataset "${dataset.name}"? Models trained from it keep working.`,
          run: async () => {
            await api("DELETE", `/datasets/${encodeURIComponent(id)}`);
            announce(`Dataset ${dataset.name} deleted`);
            location.hash = "#/datasets";
          },
          onError: (error) => replace(message, problemView(error)),
        }),
      ),
    ),
    h(
      "p",
      { class: "meta" },
      `${dataset.rows} rows · ${dataset.columns.length} columns · ${formatBytes(dataset.bytes)} stored · uploaded ${formatTime(dataset.createdAt)}`,
    ),
    message,
    h("h2", {}, "Columns"),
    fresh
      ? h(
          "p",
          { class: "help" },
          "These are the types the server inferred. Change one and apply to upload the file again with your types (the first upload is then deleted).",
        )
      : h(
          "p",
          { class: "help" },
          "Column types are set when a file is uploaded (inferred, or chosen right after upload on this page); upload the file again to change them.",
        ),
    columnsForm(dataset, fresh, preview),
    h("h2", {}, "First rows"),
    preview
      ? previewTable(preview)
      : h(
          "p",
          { class: "notice" },
          "The server keeps the columns and their statistics, not the file: rows can be previewed right after an upload, in the tab that uploaded it.",
        ),
  );
}

/**
 * The columns with their types (selects when the file is at hand) and statistics.
 * @param {Dataset} dataset
 * @param {typeof lastUpload} fresh
 * @param {Preview | undefined} preview
 */
function columnsForm(dataset, fresh, preview) {
  const result = h("div", { "aria-live": "polite" });
  const progress = h("progress", {
    max: 1,
    value: 0,
    hidden: true,
    "aria-label": "Upload progress",
    class: "progress-wide",
  });
  const progressText = h("span", { class: "meta" });
  const rows = dataset.columns.map((column, i) => {
    const id = `type-${i}`;
    const type = fresh
      ? h(
          "select",
          {
            id,
            name: column.name,
            "aria-label": `Type of ${column.name}`,
            "data-inferred": column.type,
          },
          ["numeric", "categorical"].map((t) =>
            h("option", { value: t, selected: t === column.type }, t),
          ),
        )
      : h("span", {}, column.type);
    return h(
      "tr",
      { "data-column": column.name },
      h("th", { scope: "row", "data-label": "column" }, column.name),
      h("td", { "data-label": "type" }, type),
      h("td", { "data-label": "missing" }, String(column.missing)),
      h(
        "td",
        { "data-label": "summary" },
        columnSummary(column, preview?.histograms.get(column.name)),
      ),
    );
  });
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "stack", id: "columns" },
      h("caption", { class: "visually-hidden" }, "Columns, their types and statistics"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["column", "type", "missing", "summary"].map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
  if (!fresh) return table;
  const apply = h("button", { type: "submit" }, "Apply types");
  const form = h(
    "form",
    { id: "types-form", novalidate: true },
    table,
    h("div", { class: "actions" }, apply, progress, progressText),
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    /** @type {Record<string, string>} */
    const types = {};
    for (const select of form.querySelectorAll("select")) {
      if (select.value !== select.dataset.inferred) types[select.name] = select.value;
    }
    if (Object.keys(types).length === 0) {
      replace(result, h("p", { class: "notice" }, "No type changed: the dataset stays as it is."));
      return;
    }
    apply.disabled = true;
    try {
      const next = await upload(fresh.file, dataset.name, types, progress, progressText);
      await api("DELETE", `/datasets/${encodeURIComponent(dataset.id)}`).catch(() => undefined);
      location.hash = datasetHref(next.id);
    } catch (error) {
      replace(result, problemView(error));
    } finally {
      apply.disabled = false;
    }
  });
  return form;
}

/**
 * Numbers: range, mean and spread, and a histogram when the file is at hand; categories: the
 * most frequent with their counts.
 * @param {DatasetColumn} column
 * @param {number[] | undefined} bins
 */
function columnSummary(column, bins) {
  if (column.type === "numeric") {
    const peak = Math.max(1, ...(bins ?? []));
    return h(
      "div",
      {},
      bins
        ? h(
            "div",
            {
              class: "histogram",
              role: "img",
              "aria-label": `Histogram of ${column.name}: ${bins.join(", ")} rows in ${bins.length} equal bins from min to max`,
            },
            bins.map((count) => {
              const bar = h("span");
              bar.style.height = `${((count / peak) * 100).toFixed(1)}%`;
              return bar;
            }),
          )
        : null,
      h(
        "p",
        { class: "range" },
        `min ${formatStat(column.min)} · mean ${formatStat(column.mean)} · max ${formatStat(column.max)} · std ${formatStat(column.std)}`,
      ),
    );
  }
  const top = [...column.categories].sort((a, b) => b.count - a.count).slice(0, 5);
  const total = Math.max(1, column.count);
  const more = column.categories.length - top.length;
  return h(
    "div",
    {},
    h(
      "ul",
      { class: "bars", "aria-label": `Most frequent values of ${column.name}` },
      top.map((c) => {
        const fill = h("span");
        fill.style.width = `${((c.count / total) * 100).toFixed(1)}%`;
        return h(
          "li",
          {},
          h("span", { class: "label", title: c.value }, c.value),
          h("span", { class: "bar", "aria-hidden": "true" }, fill),
          h("span", { class: "meta" }, String(c.count)),
        );
      }),
    ),
    h(
      "p",
      { class: "range" },
      `${column.categories.length} distinct${more > 0 ? `, ${more} more not shown` : ""}`,
    ),
  );
}

/** @param {Preview} preview */
function previewTable(preview) {
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "First rows" },
    h(
      "table",
      { id: "preview" },
      h(
        "caption",
        { class: "visually-hidden" },
        `The first ${preview.rows.length} rows of the file`,
      ),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          preview.header.map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h(
        "tbody",
        {},
        preview.rows.map((r) =>
          h(
            "tr",
            {},
            preview.header.map((_, i) => h("td", {}, r[i] ?? "")),
          ),
        ),
      ),
    ),
  );
}
