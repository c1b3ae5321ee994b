// Building DOM nodes without innerHTML, so nothing the API returns is ever parsed as markup.

/**
 * h("a", { href: "#/jobs", class: "x", onclick: fn }, "text", child): attributes are set as
 * such (on* keys become listeners, booleans toggle), children are nodes or text.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Says `text` to screen readers through the page's polite live region. */
export function announce(text) {
  const region = document.getElementById("announcer");
  // A repeated message is only read again if the text changes.
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function formatDuration(fromIso, toIso) {
  if (!fromIso) return "—";
  const ms = (toIso ? new Date(toIso) : new Date()).getTime() - new Date(fromIso).getTime();
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function formatNumber(value, digits = 4) {
  if (value === undefined) return "—";
  if (value === null) return "not finite";
  return Number(value).toPrecision(digits);
}

export function statusBadge(status) {
  return h("span", { class: `status status-${status}` }, status);
}

const METRIC_LABELS = {
  loss: "loss",
  valLoss: "val loss",
  accuracy: "accuracy",
  valAccuracy: "val accuracy",
  mae: "MAE",
  valMae: "val MAE",
};

/** A <dl> of the metrics that were measured. */
export function metricList(metrics) {
  if (!metrics) return h("span", { class: "chart-latest" }, "no metrics yet");
  const items = Object.entries(METRIC_LABELS)
    .filter(([key]) => metrics[key] !== undefined)
    .map(([key, label]) =>
      h("div", {}, h("dt", {}, label), h("dd", {}, formatNumber(metrics[key]))),
    );
  return h("dl", { class: "metrics" }, items);
}
