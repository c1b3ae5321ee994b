// The request forms' parts (train, new study): a labelled control that knows the request field
// it sets, and the server's field messages (`errors[].path`) put under the fields they name.
import { ApiError } from "./api.js";
import { h, replace } from "./dom.js";
import { problemView } from "./try-it.js";

/**
 * A labelled control whose error line the form fills from the server's `errors[].path`.
 * @param {string} path the request field it sets, as the API names it in errors
 * @param {string} label
 * @param {HTMLInputElement | HTMLSelectElement} control
 * @param {string} [help]
 */
export function field(path, label, control, help) {
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
export function select(name, values, selected, attrs = {}) {
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
export function number(name, value, attrs = {}) {
  return /** @type {HTMLInputElement} */ (
    h("input", { name, type: "number", value, step: "any", inputmode: "decimal", ...attrs })
  );
}

/** @param {string} value a blank field is sent as it is, so the server names it */
export function num(value) {
  return value.trim() === "" ? value : Number(value);
}

/** @param {HTMLElement} form */
export function clearErrors(form) {
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
 * Whether `outer` is `inner` or one of its parents, as paths: `space.layers` holds
 * `space.layers.choice[1][0]`, `budget` holds `budget.trials`, `budget.t` does not.
 * @param {string} outer
 * @param {string} inner
 */
function holds(outer, inner) {
  if (!inner.startsWith(outer)) return false;
  const next = inner[outer.length];
  return next === undefined || next === "." || next === "[";
}

/**
 * Puts each message under the field its path names (or the nearest one: `training.epochs`
 * under Epochs, `network.layers[1]` under layer 2's units, `space.layers.choice[2][0]` under
 * the layer choices); returns the ones no field took.
 * @param {HTMLElement} form
 * @param {{ path: string, message: string }[]} errors
 */
export function showErrors(form, errors) {
  /** @type {{ path: string, message: string }[]} */
  const unplaced = [];
  const controls = /** @type {(HTMLInputElement | HTMLSelectElement)[]} */ ([
    ...form.querySelectorAll("[data-path]"),
  ]).filter((c) => !c.disabled);
  for (const error of errors) {
    const control =
      controls.find((c) => c.dataset.path === error.path) ??
      controls.find((c) => holds(error.path, c.dataset.path ?? "")) ??
      controls.find((c) => holds(c.dataset.path ?? "", error.path));
    if (!control) {
      unplaced.push(error);
      continue;
    }
    const id = `${control.id}-error`;
    const wrap = control.closest(".field");
    // Two messages for one field (low and high of a range) share its error line.
    const line = wrap?.querySelector(`#${CSS.escape(id)}`);
    if (line) {
      line.textContent = `${line.textContent} ${error.message}`;
      continue;
    }
    wrap?.append(h("p", { class: "field-error", id }, error.message));
    control.setAttribute("aria-invalid", "true");
    control.setAttribute(
      "aria-describedby",
      [control.getAttribute("aria-describedby"), id].filter(Boolean).join(" "),
    );
  }
  return unplaced;
}

/**
 * A refused request: each field message under its field, the rest (and the API's message) in
 * the summary, and focus on the first field marked invalid (else on the summary).
 * @param {HTMLElement} form
 * @param {HTMLElement} summary
 * @param {unknown} error
 */
export function showProblem(form, summary, error) {
  const unplaced = error instanceof ApiError ? showErrors(form, error.errors) : [];
  const message = error instanceof Error ? error.message : String(error);
  replace(summary, problemView({ message, errors: unplaced }));
  /** @type {HTMLElement | null} */ (
    form.querySelector('[aria-invalid="true"]') ?? summary.querySelector("[role=alert]")
  )?.focus();
}
