// A study's leaderboard: every trial, best metric first (in the objective's direction), with its
// parameters, status, epochs, metric and version; the best trial's row marked. "Promote" puts an
// alias on a trial's version (PUT /models/{model}/aliases/{alias}) after a confirmation that says
// what it does and asks for the reason the model's history keeps (filled in from the trial).
import { api } from "./api.js";
import { announce, formatNumber, h, replace, scrollBox, statusBadge } from "./dom.js";
import { epochCount, lowerIsBetter, objectiveLabel, paramsText, studyTitle } from "./study-text.js";
import { problemView } from "./try-it.js";

/** @typedef {import("./types.js").Study} Study */
/** @typedef {import("./types.js").Trial} Trial */
/** @typedef {import("./types.js").AliasView} AliasView */

/** @typedef {{ metric: number | null, epochs: number | null, version: number | null }} TrialResult */

/**
 * A trial's judgement at the highest rung it reached with a finite metric, as the study's
 * `best` compares trials: its metric, the epochs it was judged at and the version holding
 * those weights (null once dropped: `keep` decides what stays when the study ends).
 * @param {Trial} t
 * @returns {TrialResult}
 */
export function trialResult(t) {
  const last = t.rungs.filter((r) => r.metric !== null).at(-1);
  return last ?? { metric: null, epochs: null, version: null };
}

/**
 * As the study picks its best: trials judged after more epochs first, then the better metric
 * in the objective's direction (the study's best trial first among equals); trials without a
 * metric yet last, by number.
 * @param {Study} study
 * @returns {[Trial, TrialResult][]}
 */
export function ranked(study) {
  const { metric } = study.objective;
  const sign = lowerIsBetter(metric) ? 1 : -1;
  const top = study.best;
  /** @type {[Trial, TrialResult][]} */
  const rows = study.trials.map((t) => [t, top?.trial === t.trial ? { ...top } : trialResult(t)]);
  const first = (/** @type {Trial} */ t) => (t.trial === top?.trial ? 0 : 1);
  return rows.sort(([ta, a], [tb, b]) => {
    if (a.metric === null || b.metric === null) {
      return (a.metric === null ? 1 : 0) - (b.metric === null ? 1 : 0) || ta.trial - tb.trial;
    }
    return (
      first(ta) - first(tb) ||
      (b.epochs ?? 0) - (a.epochs ?? 0) ||
      sign * (a.metric - b.metric) ||
      ta.trial - tb.trial
    );
  });
}

export class Leaderboard {
  /** @type {Study | undefined} */
  study;
  /** @type {AliasView[]} */
  aliases = [];

  /** @param {() => void} onChange called after an alias moved */
  constructor(onChange) {
    this.onChange = onChange;
    this.body = h("tbody");
    this.done = h("div", { role: "status" });
    this.decision = h("div");
    const columns = ["trial", "params", "status", "epochs", "metric", "version", "actions"];
    this.metricHead = h("th", { scope: "col", class: "num" }, "metric");
    this.el = h(
      "section",
      { class: "leaderboard", "aria-labelledby": "leaderboard-h" },
      h("h2", { id: "leaderboard-h", tabindex: "-1" }, "Leaderboard"),
      this.done,
      scrollBox(
        "Trials, best first",
        h(
          "table",
          { class: "stack trials" },
          h(
            "caption",
            {},
            "Trials, best first: those judged after the most epochs, then by their metric there.",
          ),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              columns.map((c) =>
                c === "metric"
                  ? this.metricHead
                  : c === "actions"
                    ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, c))
                    : h("th", { scope: "col", class: c === "epochs" ? "num" : null }, c),
              ),
            ),
          ),
          this.body,
        ),
      ),
      this.decision,
    );
  }

  /**
   * Rebuilds the rows, keeping keyboard focus on the row it was on; an open confirmation stays.
   * @param {Study} study
   * @param {AliasView[]} aliases
   */
  show(study, aliases) {
    this.study = study;
    this.aliases = aliases;
    this.metricHead.textContent = objectiveLabel(study.objective.metric);
    const focused = document.activeElement?.closest("tr[data-trial]");
    const trial = focused instanceof HTMLElement ? focused.dataset.trial : undefined;
    const rows = ranked(study).map(([t, r]) => this.row(study, t, r));
    replace(this.body, rows.length ? rows : h("tr", {}, h("td", { colspan: 7 }, "No trials yet.")));
    if (trial !== undefined) {
      const again = this.body.querySelector(`tr[data-trial="${trial}"] button`);
      if (again instanceof HTMLElement) again.focus();
    }
  }

  /**
   * @param {Study} study
   * @param {Trial} t
   * @param {TrialResult} r its judgement at the highest rung it reached
   */
  row(study, t, r) {
    const best = study.best?.trial === t.trial;
    const model = encodeURIComponent(study.model);
    const version = r.version;
    /** @type {HTMLButtonElement | null} */
    let promote = null;
    if (version !== null) {
      const button = h(
        "button",
        { type: "button", "aria-label": `Promote trial ${t.trial}'s v${version}` },
        "Promote",
      );
      button.addEventListener("click", () => this.askPromote(t, r, version, button));
      promote = button;
    }
    const chips = this.aliases
      .filter((a) => version !== null && a.version === version)
      .map((a) => h("span", { class: "alias" }, a.alias));
    return h(
      "tr",
      { "data-trial": t.trial, "data-status": t.status, class: best ? "best" : null },
      h(
        "th",
        { scope: "row", "data-label": "trial" },
        String(t.trial),
        best ? h("span", { class: "best-mark" }, "best") : null,
      ),
      h("td", { "data-label": "params", class: "params" }, paramsText(t.params)),
      h(
        "td",
        { "data-label": "status" },
        statusBadge(t.status),
        t.error ? h("span", { class: "meta trial-error" }, t.error) : null,
      ),
      h("td", { "data-label": "epochs", class: "num" }, String(t.epochs)),
      h(
        "td",
        { "data-label": objectiveLabel(study.objective.metric), class: "num" },
        r.epochs === null ? "—" : formatNumber(r.metric),
        r.epochs !== null && r.epochs !== t.epochs
          ? h("span", { class: "meta at-epochs" }, ` at ${epochCount(r.epochs)}`)
          : null,
      ),
      h(
        "td",
        { "data-label": "version" },
        version === null
          ? "—"
          : h("a", { href: `#/models/${model}/versions/${version}` }, `v${version}`),
        chips,
      ),
      h("td", { "data-label": "" }, promote),
    );
  }

  /**
   * The confirmation: the alias (the study's own, else production), the reason (the trial's
   * result, editable), Promote and Cancel. Nothing is sent before Promote.
   * @param {Trial} t
   * @param {TrialResult} r
   * @param {number} version
   * @param {HTMLButtonElement} opener
   */
  askPromote(t, r, version, opener) {
    const study = /** @type {Study} */ (this.study);
    const alias = /** @type {HTMLInputElement} */ (
      h("input", {
        id: "promote-alias",
        name: "alias",
        value: study.promote?.alias ?? "production",
        autocomplete: "off",
        list: "study-aliases",
      })
    );
    const metric = `${objectiveLabel(study.objective.metric)} ${formatNumber(r.metric)}`;
    const reason = /** @type {HTMLInputElement} */ (
      h("input", {
        id: "promote-reason",
        name: "reason",
        maxlength: 500,
        autocomplete: "off",
        value: `Study ${studyTitle(study)}: trial ${t.trial}, ${metric} at ${epochCount(r.epochs)}`,
      })
    );
    const known = new Set(["production", "staging", ...this.aliases.map((a) => a.alias)]);
    const problem = h("div");
    const go = h("button", { type: "submit", class: "primary" }, "Promote");
    const cancel = h("button", { type: "button" }, "Cancel");
    const form = h(
      "form",
      { class: "decision", "aria-labelledby": "promote-title", novalidate: true },
      h("h3", { id: "promote-title" }, `Promote trial ${t.trial}'s v${version}?`),
      h(
        "p",
        {},
        `The alias will point at v${version} of ${study.model}. production answers unpinned requests; any other name is a pin.`,
      ),
      h(
        "div",
        { class: "fields" },
        h(
          "div",
          { class: "field" },
          h("label", { for: alias.id }, "Alias"),
          alias,
          h(
            "datalist",
            { id: "study-aliases" },
            [...known].map((a) => h("option", { value: a })),
          ),
        ),
        h(
          "div",
          { class: "field reason" },
          h("label", { for: reason.id }, "Reason (kept in the history)"),
          reason,
        ),
      ),
      problem,
      h("div", { class: "row" }, go, cancel),
    );
    cancel.addEventListener("click", () => {
      replace(this.decision);
      opener.focus();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(problem);
      go.disabled = true;
      const name = alias.value.trim();
      try {
        const path = `/models/${encodeURIComponent(study.model)}/aliases/${encodeURIComponent(name)}`;
        const why = reason.value.trim();
        await api("PUT", path, why ? { version, reason: why } : { version });
        const text = `v${version} of ${study.model} is now ${name}.`;
        replace(
          this.done,
          h(
            "p",
            { class: "notice ok" },
            `${text} `,
            h("a", { href: `#/models/${encodeURIComponent(study.model)}` }, "Going live"),
          ),
        );
        replace(this.decision);
        announce(text);
        this.onChange();
        /** @type {HTMLElement | null} */ (this.el.querySelector("#leaderboard-h"))?.focus();
      } catch (error) {
        go.disabled = false;
        replace(problem, problemView(error));
      }
    });
    replace(this.decision, form);
    alias.focus();
  }
}
