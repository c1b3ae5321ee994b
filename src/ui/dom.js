// Building DOM nodes without innerHTML, so nothing the API returns is ever parsed as markup,
// and the small formatting helpers every view shares.

/** @typedef {import("./types.js").EpochMetrics} EpochMetrics */
/** @typedef {import("./types.js").Preprocessing} Preprocessing */

/** @typedef {Node | string | number | null | undefined | false} Child */
/** @typedef {Child | readonly any[]} Children */

/**
 * h("a", { href: "#/jobs", class: "x", onclick: fn }, "text", child): attributes are set as
 * such (on* keys become listeners, booleans toggle), children are nodes or text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...Children} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {Children[]} children
 */
function append(el, children) {
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces the children of `el`.
 * @template {Element} E
 * @param {E} el
 * @param {...Children} children
 * @returns {E}
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * Says `text` to screen readers through the page's polite live region.
 * @param {string} text
 */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  // A repeated message is only read again if the text changes.
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/** The page's one h1, focusable so the router can move focus to it as a page load would.
 * @param {...Children} children */
export function heading(...children) {
  return h("h1", { tabindex: "-1" }, ...children);
}

/** @param {string} href @param {string} text */
export function backLink(href, text) {
  return h("p", { class: "back" }, h("a", { href }, `← ${text}`));
}

/** @param {string | null | undefined} iso */
export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

/** @param {string | null | undefined} fromIso @param {string | null | undefined} [toIso] */
export function formatDuration(fromIso, toIso) {
  if (!fromIso) return "—";
  const ms = (toIso ? new Date(toIso) : new Date()).getTime() - new Date(fromIso).getTime();
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** @param {number | null | undefined} value @param {number} [digits] */
export function formatNumber(value, digits = 4) {
  if (value === undefined) return "—";
  if (value === null) return "not finite";
  return Number(value).toPrecision(digits);
}

/**
 * A statistic as a person writes it: four significant digits, no trailing zeros (4.3, 0.1).
 * @param {number | null | undefined} value
 */
export function formatStat(value) {
  if (value === undefined || value === null) return "—";
  return String(Number(value.toPrecision(4)));
}

/** @param {number} value */
export function formatPercent(value) {
  return `${(value * 100).toFixed(1)} %`;
}

/** @param {number} bytes */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** @param {string} status */
export function statusBadge(status) {
  return h("span", { class: `status status-${status}` }, status);
}

/** @type {Record<string, string>} */
const METRIC_LABELS = {
  loss: "loss",
  valLoss: "val loss",
  accuracy: "accuracy",
  valAccuracy: "val accuracy",
  mae: "MAE",
  valMae: "val MAE",
};

/** "val loss" for valLoss: an epoch metric's name as the pages write it. @param {string} key */
export function metricLabel(key) {
  return METRIC_LABELS[key] ?? key;
}

/**
 * The epoch metrics as shown: a regressor trained from a dataset learns a scaled target, so its
 * MAE is multiplied back by the target's scale and named with the target (the loss stays the
 * training loss, in the scaled units it was minimised in).
 * @param {EpochMetrics} metrics
 * @param {Preprocessing | null | undefined} preprocessing
 * @returns {[string, number | null][]}
 */
export function shownMetrics(metrics, preprocessing) {
  const target = preprocessing?.target;
  const scale = target?.type === "numeric" ? target.scale : 1;
  /** @type {[string, number | null][]} */
  const out = [];
  for (const [key, label] of Object.entries(METRIC_LABELS)) {
    const value = /** @type {Record<string, number | null | undefined>} */ (metrics)[key];
    if (value === undefined) continue;
    if ((key === "mae" || key === "valMae") && target?.type === "numeric") {
      out.push([`${label} (${target.name})`, value === null ? null : value * scale]);
    } else out.push([label, value]);
  }
  return out;
}

/**
 * A <dl> of the metrics that were measured.
 * @param {EpochMetrics | null | undefined} metrics
 * @param {Preprocessing | null} [preprocessing]
 */
export function metricList(metrics, preprocessing = null) {
  if (!metrics) return h("span", { class: "chart-latest" }, "no metrics yet");
  return h(
    "dl",
    { class: "metrics" },
    shownMetrics(metrics, preprocessing).map(([label, value]) =>
      h("div", {}, h("dt", {}, label), h("dd", {}, formatNumber(value))),
    ),
  );
}

/**
 * A destructive action that stays quiet until asked for: a plain "Delete" button that opens an
 * inline confirmation (what will go, a red button that does it, and one that keeps it).
 * @param {{ name: string, what: string, run: () => Promise<void>, onError: (error: unknown) => void }} options
 *   name: the thing's name (in the accessible name); what: the sentence asking to confirm.
 */
export function confirmDelete(options) {
  return confirmAction({ ...options, label: "Delete" });
}

/**
 * confirmDelete for any action that cannot be undone ("Cancel study"): a quiet button named
 * `${label} ${name}`, then the sentence, a red `label` button that does it, and `keep`.
 * @param {{ label: string, name: string, what: string, keep?: string, run: () => Promise<void>, onError: (error: unknown) => void }} options
 */
export function confirmAction({ label, name, what, keep = "Keep it", run, onError }) {
  const slot = h("div", { class: "delete-slot" });
  const open = h(
    "button",
    { type: "button", class: "quiet", "aria-label": `${label} ${name}`, "aria-expanded": "false" },
    label,
  );
  const close = () => {
    replace(slot, open);
    open.setAttribute("aria-expanded", "false");
    open.focus();
  };
  open.addEventListener("click", () => {
    const yes = h(
      "button",
      { type: "button", class: "danger", "aria-label": `${label} ${name} now` },
      label,
    );
    const no = h("button", { type: "button" }, keep);
    no.addEventListener("click", close);
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      no.disabled = true;
      try {
        await run();
      } catch (error) {
        close();
        onError(error);
      }
    });
    replace(
      slot,
      h(
        "div",
        { class: "confirm", role: "group", "aria-label": `${label} ${name}?` },
        h("p", {}, what),
        yes,
        no,
      ),
    );
    no.focus();
  });
  slot.append(open);
  return slot;
}

/**
 * A table that may be wider than a phone: it scrolls sideways in a box that keyboard users can
 * focus (and scroll with the arrow keys) and screen readers hear named.
 * @param {string} label
 * @param {HTMLElement} table
 */
export function scrollBox(label, table) {
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": label },
    table,
  );
}
