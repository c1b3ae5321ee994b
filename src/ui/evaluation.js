// A version's held-out evaluation as a person reads it: headline figures, the confusion matrix
// (counts or row shares, shaded by row share) and per-class scores for a classifier; errors in
// the target's units for a regressor.
import { xyChart } from "./chart.js";
import { formatNumber, formatPercent, h, replace } from "./dom.js";

/** @typedef {import("./types.js").Evaluation} Evaluation */
/** @typedef {Extract<Evaluation, { task: "classification" }>} Classification */
/** @typedef {Extract<Evaluation, { task: "regression" }>} Regression */
/** @typedef {import("./types.js").ModelVersion} ModelVersion */

/**
 * @param {[string, string][]} items label, value
 */
export function figures(items) {
  return h(
    "dl",
    { class: "figures" },
    items.map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value))),
  );
}

/** @param {ModelVersion} version */
export function evaluationSection(version) {
  const evaluation = version.evaluation;
  const split = version.training?.dataset?.testSplit;
  if (!evaluation) {
    return h(
      "p",
      { class: "notice" },
      version.status !== "ready"
        ? "The held-out evaluation is computed when the version is ready."
        : version.preprocessing
          ? "No rows were held back (test split 0), so there is no held-out evaluation."
          : "Trained on inline numbers, not a dataset: there are no held-out rows to evaluate.",
    );
  }
  const intro = h(
    "p",
    { class: "lede" },
    `Scored on ${evaluation.rows} rows held back from training`,
    split !== undefined ? ` (test split ${formatPercent(split)})` : "",
    ", never seen while learning.",
  );
  return evaluation.task === "classification"
    ? h("div", { id: "evaluation" }, intro, classification(evaluation))
    : h("div", { id: "evaluation" }, intro, regression(evaluation, version));
}

/** @param {Classification} evaluation */
function classification(evaluation) {
  const macroF1 =
    evaluation.classes.reduce((sum, c) => sum + c.f1, 0) / Math.max(1, evaluation.classes.length);
  // Wider than a phone with many classes: a scroll box a keyboard can reach.
  const matrixSlot = h("div", {
    class: "table-wrap",
    tabindex: "0",
    role: "region",
    "aria-label": "Confusion matrix",
  });
  /** @param {"counts" | "shares"} mode */
  const show = (mode) => replace(matrixSlot, confusionMatrix(evaluation, mode));
  const choice = h(
    "fieldset",
    { class: "choice" },
    h("legend", { class: "visually-hidden" }, "Show the confusion matrix as"),
    [
      ["counts", "Counts"],
      ["shares", "Row-normalised"],
    ].map(([value, label], i) =>
      h(
        "label",
        {},
        h("input", {
          type: "radio",
          name: "matrix-mode",
          value,
          checked: i === 0,
          onchange: () => show(/** @type {"counts" | "shares"} */ (value)),
        }),
        ` ${label}`,
      ),
    ),
  );
  show("counts");
  return [
    figures([
      ["Accuracy", formatPercent(evaluation.accuracy)],
      ["Macro F1", formatNumber(macroF1, 3)],
      ["Test rows", String(evaluation.rows)],
    ]),
    h("h3", {}, "Confusion matrix"),
    choice,
    matrixSlot,
    h("h3", {}, "Per class"),
    perClass(evaluation),
    evaluation.curves ? binaryCurves(evaluation.curves) : null,
  ];
}

/**
 * ROC and precision-recall curves of a two-class version, with their areas.
 * @param {NonNullable<Classification["curves"]>} curves
 */
function binaryCurves(curves) {
  const { roc, pr, positive } = curves;
  return [
    h("h3", {}, `ROC and precision-recall (positive class: ${positive})`),
    figures([
      ["ROC AUC", formatNumber(curves.auc, 3)],
      ["Average precision", formatNumber(curves.averagePrecision, 3)],
    ]),
    h(
      "div",
      { class: "charts" },
      xyChart("ROC curve", {
        id: "chart-roc",
        xLabel: "false positive rate",
        yLabel: "true positive rate",
        xs: roc.map((p) => p[0]),
        series: [
          { label: "ROC", ys: roc.map((p) => p[1]) },
          { label: "chance", ys: roc.map((p) => p[0]), reference: true },
        ],
        description: `${roc.length} points, area under the curve ${formatNumber(curves.auc, 3)}`,
      }),
      xyChart("Precision-recall curve", {
        id: "chart-pr",
        xLabel: "recall",
        yLabel: "precision",
        xs: pr.map((p) => p[0]),
        series: [{ label: "precision", ys: pr.map((p) => p[1]) }],
        description: `${pr.length} points, average precision ${formatNumber(curves.averagePrecision, 3)}`,
      }),
    ),
  ];
}

/**
 * Rows are the true classes, columns the predicted ones; the shade is the row share, so a
 * strong diagonal reads at a glance whatever the class sizes.
 * @param {Classification} evaluation
 * @param {"counts" | "shares"} mode
 */
function confusionMatrix(evaluation, mode) {
  const { labels, matrix } = evaluation.confusionMatrix;
  const table = h(
    "table",
    { class: "matrix", id: "confusion-matrix", "data-mode": mode },
    h(
      "caption",
      { class: "visually-hidden" },
      `Confusion matrix (${mode === "counts" ? "counts" : "row shares"}): rows are the true class, columns the predicted class`,
    ),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, h("span", { class: "matrix-axis" }, "true ↓ / predicted →")),
        labels.map((l) => h("th", { scope: "col" }, l)),
      ),
    ),
    h(
      "tbody",
      {},
      matrix.map((row, i) => {
        const total = row.reduce((a, b) => a + b, 0);
        return h(
          "tr",
          {},
          h("th", { scope: "row" }, labels[i] ?? ""),
          row.map((count, j) => {
            const share = total === 0 ? 0 : count / total;
            const cell = h(
              "td",
              { class: i === j ? "diagonal" : undefined },
              mode === "counts" ? String(count) : formatPercent(share),
            );
            // CSSOM, which the CSP allows (a style attribute it would not).
            cell.style.backgroundColor = `rgba(var(--heat), ${(share * 0.55).toFixed(3)})`;
            return cell;
          }),
        );
      }),
    ),
  );
  return table;
}

/** @param {Classification} evaluation */
function perClass(evaluation) {
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Per-class scores" },
    h(
      "table",
      { id: "per-class" },
      h("caption", { class: "visually-hidden" }, "Precision, recall and F1 per class"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["class", "precision", "recall", "F1", "support"].map((c, i) =>
            h("th", { scope: "col", class: i > 0 ? "num" : undefined }, c),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        evaluation.classes.map((c) =>
          h(
            "tr",
            {},
            h("th", { scope: "row", "data-label": "class" }, c.label),
            h("td", { class: "num", "data-label": "precision" }, formatNumber(c.precision, 3)),
            h("td", { class: "num", "data-label": "recall" }, formatNumber(c.recall, 3)),
            h("td", { class: "num", "data-label": "F1" }, formatNumber(c.f1, 3)),
            h("td", { class: "num", "data-label": "support" }, String(c.support)),
          ),
        ),
      ),
    ),
  );
}

/**
 * @param {Regression} evaluation
 * @param {ModelVersion} version
 */
function regression(evaluation, version) {
  const target = version.preprocessing?.target.name ?? "target";
  return [
    figures([
      [`MAE (${target})`, formatNumber(evaluation.mae)],
      [`RMSE (${target})`, formatNumber(evaluation.rmse)],
      ["R²", evaluation.r2 === null ? "— (constant target)" : formatNumber(evaluation.r2, 3)],
      ["Test rows", String(evaluation.rows)],
    ]),
    h("p", { class: "help" }, `Errors are in the units of ${target}, as the model answers.`),
    evaluation.points
      ? regressionPlots(evaluation.points, target)
      : h(
          "p",
          { class: "notice" },
          "This version was evaluated before the test rows' predictions were kept: no plots.",
        ),
  ];
}

/**
 * Predicted against actual (on the diagonal when right) and the residuals against the
 * prediction (around zero when unbiased), in the target's units.
 * @param {{ actual: number[], predicted: number[] }} points
 * @param {string} target
 */
function regressionPlots(points, target) {
  const pairs = points.actual
    .map((a, i) => [a, points.predicted[i] ?? Number.NaN])
    .filter(([a, p]) => Number.isFinite(a) && Number.isFinite(p));
  const byActual = [...pairs].sort((x, y) => (x[0] ?? 0) - (y[0] ?? 0));
  const byPredicted = [...pairs].sort((x, y) => (x[1] ?? 0) - (y[1] ?? 0));
  const n = pairs.length;
  return h(
    "div",
    { class: "charts" },
    xyChart(`Predicted against actual ${target}`, {
      id: "chart-predicted-actual",
      xLabel: `actual ${target}`,
      yLabel: `predicted ${target}`,
      xs: byActual.map((p) => p[0] ?? 0),
      series: [
        { label: "test rows", ys: byActual.map((p) => p[1] ?? null), points: true },
        { label: "perfect", ys: byActual.map((p) => p[0] ?? null), reference: true },
      ],
      description: `${n} test rows; a perfect model puts every dot on the dashed diagonal`,
    }),
    xyChart("Residuals", {
      id: "chart-residuals",
      xLabel: `predicted ${target}`,
      yLabel: "actual − predicted",
      xs: byPredicted.map((p) => p[1] ?? 0),
      series: [
        {
          label: "residual",
          ys: byPredicted.map((p) => (p[0] ?? 0) - (p[1] ?? 0)),
          points: true,
        },
        { label: "zero", ys: byPredicted.map(() => 0), reference: true },
      ],
      description: `${n} test rows; an unbiased model scatters them evenly around zero`,
    }),
  );
}
