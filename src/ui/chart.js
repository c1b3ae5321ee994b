// Line charts of per-epoch metrics, drawn by uPlot (served from node_modules, no CDN), in the
// theme's colours.

import { formatNumber, h } from "./dom.js";
import uPlot from "./vendor/uplot/uPlot.esm.js";

/** @typedef {import("./types.js").Epoch} Epoch */
/** @typedef {{ key: string, label: string, scale?: number }} Series */

const HEIGHT = 220;
const EPOCH_STEPS = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000,
];

/** @param {string} name */
function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** @param {number} i */
const colour = (i) => cssVar(`--chart-${(i % 4) + 1}`) || "#0a58ca";

const DARK = matchMedia("(prefers-color-scheme: dark)");

/**
 * Draws a chart into `plot` and keeps it fitted to its figure and in the theme's colours: a
 * canvas does not follow CSS, so a change of colour scheme draws it again with the new ones.
 * @param {HTMLElement} el the figure
 * @param {HTMLElement} plot
 * @param {(width: number) => uPlot} make
 * @returns {{ chart: () => uPlot, remake: () => void }} the chart drawn now, and a way to draw
 *   it again from scratch (new series)
 */
function mount(el, plot, make) {
  const width = () => Math.max(200, plot.clientWidth || el.clientWidth - 24 || 300);
  let chart = make(width());
  new ResizeObserver(() => chart.setSize({ width: width(), height: HEIGHT })).observe(el);
  const remake = () => {
    chart.destroy();
    chart = make(width());
    el.dataset.drawnFor = DARK.matches ? "dark" : "light";
  };
  const recolour = () => {
    if (el.isConnected) remake();
    else DARK.removeEventListener("change", recolour);
  };
  DARK.addEventListener("change", recolour);
  el.dataset.drawnFor = DARK.matches ? "dark" : "light";
  return { chart: () => chart, remake };
}

/**
 * The uPlot options of a chart with these series labels: validation series dashed, no live
 * legend values (they read "--" until hovered), axes in the text colour.
 * @param {number} width
 * @param {{ label: string, colourIndex: number, dashed: boolean }[]} series
 * @param {string} xLabel
 */
function options(width, series, xLabel) {
  const axis = { stroke: cssVar("--fg-muted"), grid: { stroke: cssVar("--border"), width: 1 } };
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: false } },
    legend: { live: false },
    axes: [
      // Epochs are whole numbers: no ticks at 1.2, 1.4.
      { ...axis, label: xLabel, incrs: EPOCH_STEPS },
      { ...axis, size: 56 },
    ],
    series: [
      { label: xLabel },
      ...series.map((s) => ({
        label: s.label,
        stroke: colour(s.colourIndex),
        width: 2,
        dash: s.dashed ? [6, 4] : undefined,
        spanGaps: true,
      })),
    ],
  };
}

/**
 * A figure with a caption, the chart and a text line of the latest values (the chart's text
 * alternative). Each series' values are multiplied by its `scale` (original units).
 * @param {string} title
 * @param {Series[]} series
 */
export function metricChart(title, series) {
  const latest = h("p", { class: "chart-latest", "aria-live": "off" }, "no epochs yet");
  const plot = h("div", { class: "plot", role: "img", "aria-label": `${title} per epoch` });
  const el = h(
    "figure",
    { class: "chart", "data-points": "0" },
    h("figcaption", {}, title),
    plot,
    latest,
  );
  /** @type {(number | null)[][]} */
  const data = [[], ...series.map(() => [])];
  /** @type {ReturnType<typeof mount> | undefined} */
  let chart;
  let pending = false;

  const shown = series.map((s, i) => ({
    label: s.label,
    colourIndex: Math.floor(i / 2),
    dashed: i % 2 === 1,
  }));
  const draw = () => {
    if (!chart) {
      chart = mount(
        el,
        plot,
        (w) => new uPlot(options(w, shown, "epoch"), /** @type {any} */ (data), plot),
      );
    } else {
      chart.chart().setData(/** @type {any} */ (data));
    }
  };

  return {
    el,
    /** @param {Epoch} epoch */
    push(epoch) {
      const values = /** @type {Record<string, number | null | undefined>} */ (epoch);
      data[0]?.push(epoch.epoch);
      series.forEach((s, i) => {
        const v = values[s.key];
        data[i + 1]?.push(v === undefined || v === null ? null : v * (s.scale ?? 1));
      });
      el.dataset.points = String(data[0]?.length ?? 0);
      latest.textContent = `epoch ${epoch.epoch}: ${series
        .filter((s) => values[s.key] !== undefined)
        .map((s) => {
          const v = values[s.key];
          return `${s.label} ${formatNumber(v === null || v === undefined ? v : v * (s.scale ?? 1))}`;
        })
        .join(", ")}`;
      // Epochs can come by the hundred in one read: draw once per frame, not once per epoch.
      if (!pending) {
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          draw();
        });
      }
    },
    reset() {
      for (const column of data) column.length = 0;
      el.dataset.points = "0";
      latest.textContent = "no epochs yet";
      if (chart) chart.chart().setData(/** @type {any} */ (data));
    },
    count: () => data[0]?.length ?? 0,
  };
}

/**
 * Several versions' curves of one metric on one chart (the comparison page): one colour per
 * version, validation dashed. runs: [{ label, epochs }].
 * @param {string} title
 * @param {string} key
 * @param {{ label: string, epochs: Epoch[], scale?: number }[]} runs
 */
export function overlayChart(title, key, runs) {
  const valKey = `val${key[0]?.toUpperCase()}${key.slice(1)}`;
  const length = Math.max(0, ...runs.map((r) => r.epochs.length));
  const xs = Array.from({ length }, (_, i) => i + 1);
  /** @type {{ label: string, colourIndex: number, dashed: boolean }[]} */
  const shown = [];
  /** @type {(number | null)[][]} */
  const columns = [];
  runs.forEach((run, r) => {
    for (const [k, dashed] of /** @type {[string, boolean][]} */ ([
      [key, false],
      [valKey, true],
    ])) {
      const values = run.epochs.map((e) => {
        const v = /** @type {Record<string, number | null | undefined>} */ (e)[k];
        return v === undefined || v === null ? null : v * (run.scale ?? 1);
      });
      if (values.every((v) => v === null)) continue;
      shown.push({ label: `${run.label}${dashed ? " val" : ""}`, colourIndex: r, dashed });
      columns.push(xs.map((_, i) => values[i] ?? null));
    }
  });
  const plot = h("div", { class: "plot", role: "img", "aria-label": `${title} per epoch` });
  const el = h(
    "figure",
    { class: "chart", "data-series": String(shown.length) },
    h("figcaption", {}, title),
    plot,
  );
  requestAnimationFrame(() => {
    mount(
      el,
      plot,
      (w) => new uPlot(options(w, shown, "epoch"), /** @type {any} */ ([xs, ...columns]), plot),
    );
  });
  return el;
}

/**
 * A chart of y against x (not epochs): sorted xs, one or more series of ys; a series with
 * `points: true` is drawn as dots (a scatter), the others as lines (a reference line dashed).
 * @param {string} title
 * @param {{ id: string, xLabel: string, yLabel: string, xs: number[], series: { label: string, ys: (number | null)[], points?: boolean, reference?: boolean }[], description: string }} spec
 */
export function xyChart(title, spec) {
  const plot = h("div", {
    class: "plot",
    role: "img",
    "aria-label": `${title}: ${spec.description}`,
  });
  const el = h(
    "figure",
    { class: "chart", id: spec.id, "data-points": String(spec.xs.length) },
    h("figcaption", {}, title),
    plot,
    h("p", { class: "chart-latest" }, spec.description),
  );
  const make = (/** @type {number} */ width) => {
    const axis = { stroke: cssVar("--fg-muted"), grid: { stroke: cssVar("--border"), width: 1 } };
    return new uPlot(
      {
        width,
        height: HEIGHT,
        scales: { x: { time: false } },
        legend: { live: false },
        cursor: { show: false },
        axes: [
          { ...axis, label: spec.xLabel },
          { ...axis, label: spec.yLabel, size: 56 },
        ],
        series: [
          { label: spec.xLabel },
          ...spec.series.map((s, i) => ({
            label: s.label,
            stroke: s.reference ? cssVar("--fg-muted") : colour(i),
            width: s.points ? 0 : s.reference ? 1 : 2,
            dash: s.reference ? [4, 4] : undefined,
            spanGaps: true,
            ...(s.points
              ? {
                  paths: () => null,
                  points: { show: true, size: 5, fill: colour(i), stroke: colour(i) },
                }
              : { points: { show: false } }),
          })),
        ],
      },
      /** @type {any} */ ([spec.xs, ...spec.series.map((s) => s.ys)]),
      plot,
    );
  };
  requestAnimationFrame(() => mount(el, plot, make));
  return el;
}

/**
 * One line of a study's chart: a trial's objective per epoch (index 0 is epoch 1). `look`:
 * "best" (thick, the first series colour, drawn last), "faded" (pruned, failed or cancelled:
 * thin and muted) or "normal".
 * @typedef {{ label: string, values: (number | null)[], look: "best" | "faded" | "normal" }} TrialLine
 */

/**
 * Every trial's objective on one chart, drawn again whole on each show() (trials come and go,
 * and uPlot fixes its series when it is made). Too many lines for a legend: the caption below
 * says which look means what, and the figure's text alternative gives the best trial.
 * @param {string} title
 */
export function trialsChart(title) {
  const plot = h("div", { class: "plot", role: "img", "aria-label": `${title}: no epochs yet` });
  const key = h("p", { class: "chart-latest" }, "no epochs yet");
  const el = h(
    "figure",
    { class: "chart trials-chart", "data-series": "0" },
    h("figcaption", {}, title),
    plot,
    key,
  );
  /** @type {TrialLine[]} */
  let lines = [];
  /** @type {ReturnType<typeof mount> | undefined} */
  let mounted;
  let pending = false;
  const make = (/** @type {number} */ width) => {
    const ordered = [
      ...lines.filter((l) => l.look === "faded"),
      ...lines.filter((l) => l.look === "normal"),
      ...lines.filter((l) => l.look === "best"),
    ];
    const epochs = Math.max(0, ...ordered.map((l) => l.values.length));
    const xs = Array.from({ length: epochs }, (_, i) => i + 1);
    /** @type {any} */
    const opts = options(width, [], "epoch");
    let normal = 0;
    opts.legend = { show: false, live: false };
    opts.series = [
      { label: "epoch" },
      ...ordered.map((l) => {
        const stroke =
          l.look === "best"
            ? colour(0)
            : l.look === "faded"
              ? cssVar("--fg-muted")
              : colour(1 + (normal++ % 3));
        // A trial judged after one epoch has no line to draw: a dot, then.
        const single = l.values.filter((v) => v !== null).length === 1;
        return {
          label: l.label,
          stroke,
          width: l.look === "best" ? 3 : l.look === "faded" ? 1 : 1.5,
          alpha: l.look === "faded" ? 0.4 : 1,
          spanGaps: true,
          points: { show: single, size: 6, fill: stroke, stroke },
        };
      }),
    ];
    const data = [xs, ...ordered.map((l) => xs.map((_, i) => l.values[i] ?? null))];
    return new uPlot(opts, /** @type {any} */ (data), plot);
  };
  const draw = () => {
    pending = false;
    if (!el.isConnected) return;
    if (mounted) mounted.remake();
    else mounted = mount(el, plot, make);
  };
  return {
    el,
    /**
     * @param {TrialLine[]} next
     * @param {string} description the text alternative: what the chart shows
     */
    show(next, description) {
      lines = next;
      el.dataset.series = String(next.length);
      el.dataset.faded = String(next.filter((l) => l.look === "faded").length);
      el.dataset.best = next.find((l) => l.look === "best")?.label ?? "";
      plot.setAttribute("aria-label", `${title}: ${description}`);
      key.textContent = description;
      // Several refetches can land in one frame: draw once.
      if (!pending) {
        pending = true;
        requestAnimationFrame(draw);
      }
    },
  };
}
