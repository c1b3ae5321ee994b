// A live line chart of per-epoch metrics, drawn by uPlot (served from node_modules, no CDN).

import { formatNumber, h } from "./dom.js";
import uPlot from "./vendor/uplot/uPlot.esm.js";

const COLORS = ["#0b57d0", "#c5221f", "#137333", "#a142f4"];

/**
 * A figure with a caption, the chart and a text line of the latest values (the chart's text
 * alternative). series: [{ key, label }]. Returns { el, push(epoch), reset(), count() }.
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
  const data = [[], ...series.map(() => [])];
  let chart;
  let pending = false;

  const width = () => Math.max(200, plot.clientWidth || el.clientWidth - 16 || 300);
  const draw = () => {
    if (!chart) {
      chart = new uPlot(
        {
          width: width(),
          height: 220,
          scales: { x: { time: false } },
          axes: [{ label: "epoch" }, {}],
          series: [
            { label: "epoch" },
            ...series.map((s, i) => ({
              label: s.label,
              stroke: COLORS[i % COLORS.length],
              width: 2,
              dash: i % 2 === 1 ? [6, 4] : undefined,
              spanGaps: true,
            })),
          ],
        },
        data,
        plot,
      );
      new ResizeObserver(() => chart.setSize({ width: width(), height: 220 })).observe(el);
    } else {
      chart.setData(data);
    }
  };

  return {
    el,
    push(epoch) {
      data[0].push(epoch.epoch);
      series.forEach((s, i) => {
        data[i + 1].push(epoch[s.key] ?? null);
      });
      el.dataset.points = String(data[0].length);
      latest.textContent = `epoch ${epoch.epoch}: ${series
        .filter((s) => epoch[s.key] !== undefined)
        .map((s) => `${s.label} ${formatNumber(epoch[s.key])}`)
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
      if (chart) chart.setData(data);
    },
    count: () => data[0].length,
  };
}
