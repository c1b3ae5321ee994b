// Going live, on a model's page (issue 20): each ready version with its aliases, Promote (to an
// alias, production unless said otherwise) and Roll back, each asking to confirm with a reason
// the history keeps; the traffic each version gets with this server's figures; and the history
// as a timeline, newest first.
import { api } from "./api.js";
import { announce, formatTime, h, replace, scrollBox } from "./dom.js";
import { figures } from "./evaluation.js";
import { problemView } from "./try-it.js";

/** @typedef {import("./types.js").Model} Model */
/** @typedef {import("./types.js").AliasView} AliasView */
/** @typedef {import("./types.js").TrafficView} TrafficView */
/** @typedef {import("./types.js").ModelEvent} ModelEvent */
/** @typedef {import("./types.js").HistoryPage} HistoryPage */

const PRODUCTION = "production";
const HISTORY_PAGE = 20;
const SHARE_COLOURS = ["--chart-1", "--chart-2", "--chart-3", "--chart-4"];

/** @param {string} name @param {string} rest */
const modelPath = (name, rest) => `/models/${encodeURIComponent(name)}/${rest}`;

/**
 * The "Going live" section of a model's page. It loads itself, and again after each change.
 * @param {Model} model
 */
export function lifecycleSection(model) {
  const view = new GoingLive(model);
  void view.load();
  return view.el;
}

/**
 * The section's state: the aliases, traffic and history as last loaded, and the one decision
 * (promote or roll back) open at a time.
 */
class GoingLive {
  /** @type {AliasView[]} */
  aliases = [];
  /** @type {TrafficView | null} */
  traffic = null;
  /** @type {ModelEvent[]} */
  events = [];
  /** @type {string | null} */
  nextCursor = null;

  /** @param {Model} model */
  constructor(model) {
    this.model = model;
    this.title = h("h2", { id: "going-live", tabindex: "-1" }, "Going live");
    this.body = h("div", {}, h("p", { class: "meta" }, "Loading aliases, traffic and history…"));
    this.done = h("div", { role: "status" });
    this.decision = h("div");
    this.el = h(
      "section",
      { class: "panel going-live", "aria-labelledby": "going-live" },
      this.title,
      this.done,
      this.body,
    );
  }

  async load() {
    const name = this.model.name;
    try {
      /** @type {[{ aliases: AliasView[] }, TrafficView, HistoryPage]} */
      const [{ aliases }, traffic, history] = await Promise.all([
        api("GET", modelPath(name, "aliases")),
        api("GET", modelPath(name, "traffic")),
        api("GET", modelPath(name, `history?limit=${HISTORY_PAGE}`)),
      ]);
      this.aliases = aliases;
      this.traffic = traffic;
      this.events = history.events;
      this.nextCursor = history.nextCursor;
      this.render();
    } catch (error) {
      replace(this.body, problemView(error));
    }
  }

  render() {
    replace(this.decision);
    replace(
      this.body,
      this.headline(),
      this.versionsTable(),
      this.decision,
      h("h3", {}, "Traffic"),
      trafficPart(this.traffic, this.routeText()),
      h("h3", {}, "History"),
      this.timeline(),
    );
  }

  /** @param {string} alias */
  aliasVersion(alias) {
    return this.aliases.find((a) => a.alias === alias)?.version;
  }

  /** Where an unpinned request goes: the split, else production, else the newest ready. */
  routeText() {
    const split = this.traffic?.split ?? [];
    if (split.length > 0) {
      return `the split: ${split.map((s) => `v${s.version} ${s.weight} %`).join(", ")}`;
    }
    const production = this.aliasVersion(PRODUCTION);
    if (production !== undefined) return `production, v${production}`;
    const newest = this.model.latestVersion;
    return newest === null ? "no version yet" : `the newest ready version, v${newest}`;
  }

  headline() {
    const production = this.aliasVersion(PRODUCTION);
    return [
      figures([
        ["Production", production === undefined ? "not set" : `v${production}`],
        ["Aliases", String(this.aliases.length)],
        ["Split", splitFigure(this.traffic?.split.length ?? 0)],
      ]),
      h("p", { class: "meta" }, `Unpinned requests go to ${this.routeText()}.`),
    ];
  }

  versionsTable() {
    const ready = this.model.versions.filter((v) => v.status === "ready").reverse();
    if (ready.length === 0)
      return h("p", { class: "notice" }, "No version is ready to promote yet.");
    const weights = new Map((this.traffic?.split ?? []).map((s) => [s.version, s.weight]));
    const rows = ready.map((v) => {
      const aliases = this.aliases.filter((a) => a.alias && a.version === v.version);
      const promote = h(
        "button",
        { type: "button", "aria-label": `Promote v${v.version}` },
        "Promote",
      );
      promote.addEventListener("click", () => this.askPromote(v.version, promote));
      return h(
        "tr",
        { "data-version": v.version },
        h("th", { scope: "row", "data-label": "version" }, `v${v.version}`),
        h(
          "td",
          { "data-label": "aliases" },
          aliases.length === 0
            ? h("span", { class: "meta" }, "none")
            : h(
                "ul",
                { class: "alias-list" },
                aliases.map((a) => h("li", {}, aliasChip(a), this.rollBackButton(a))),
              ),
        ),
        h(
          "td",
          { "data-label": "split", class: "num" },
          weights.has(v.version) ? `${weights.get(v.version)} %` : "—",
        ),
        h("td", { "data-label": "trained" }, formatTime(v.trainedAt)),
        h("td", { "data-label": "" }, promote),
      );
    });
    return scrollBox(
      "Ready versions and their aliases",
      h(
        "table",
        { class: "stack" },
        h("caption", { class: "visually-hidden" }, "Ready versions and their aliases"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "version"),
            h("th", { scope: "col" }, "aliases"),
            h("th", { scope: "col", class: "num" }, "split"),
            h("th", { scope: "col" }, "trained"),
            h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  }

  /** @param {AliasView} alias */
  rollBackButton(alias) {
    const button = h(
      "button",
      { type: "button", class: "quiet", "aria-label": `Roll back ${alias.alias}` },
      "Roll back",
    );
    button.addEventListener("click", () => this.askRollBack(alias, button));
    return button;
  }

  /** @param {number} version @param {HTMLButtonElement} opener */
  askPromote(version, opener) {
    const holds = this.aliases.some((a) => a.alias === PRODUCTION && a.version === version);
    const suggested = holds ? "staging" : PRODUCTION;
    const production = this.aliasVersion(PRODUCTION);
    const alias = /** @type {HTMLInputElement} */ (
      h("input", {
        id: "promote-alias",
        name: "alias",
        value: suggested,
        required: true,
        autocomplete: "off",
        list: "known-aliases",
      })
    );
    const known = new Set([PRODUCTION, "staging", ...this.aliases.map((a) => a.alias)]);
    const effect =
      (this.traffic?.split.length ?? 0) > 0
        ? "A traffic split is set: it keeps deciding unpinned requests until it is removed."
        : production === undefined
          ? `Unpinned requests will go to v${version} when the alias is production.`
          : `Moving production sends unpinned requests to v${version} instead of v${production}.`;
    this.openDecision({
      title: `Promote v${version}`,
      text: effect,
      action: "Promote",
      opener,
      extra: [
        h(
          "div",
          { class: "field" },
          h("label", { for: alias.id }, "Alias"),
          alias,
          h(
            "datalist",
            { id: "known-aliases" },
            [...known].map((a) => h("option", { value: a })),
          ),
          h(
            "p",
            { class: "help" },
            "production answers unpinned requests; any other name is a pin.",
          ),
        ),
      ],
      send: (reason) =>
        api(
          "PUT",
          modelPath(this.model.name, `aliases/${encodeURIComponent(alias.value.trim())}`),
          {
            version,
            reason,
          },
        ),
      doneText: () => `v${version} is now ${alias.value.trim()}.`,
    });
  }

  /** @param {AliasView} alias @param {HTMLButtonElement} opener */
  askRollBack(alias, opener) {
    this.openDecision({
      title: `Roll back ${alias.alias}`,
      text: `${alias.alias} points at v${alias.version}; rolling back puts it on the version it held before its last change.`,
      action: "Roll back",
      opener,
      extra: [],
      send: (reason) =>
        api("POST", modelPath(this.model.name, "rollback"), { alias: alias.alias, reason }),
      doneText: (/** @type {AliasView} */ moved) =>
        `${alias.alias} rolled back from v${alias.version} to v${moved.version}.`,
    });
  }

  /**
   * The confirmation: what will happen, the reason the history keeps (asked for), the action
   * and Cancel. Nothing is sent before the action's button.
   * @param {{ title: string, text: string, action: string, opener: HTMLButtonElement,
   *   extra: HTMLElement[], send: (reason: string) => Promise<any>,
   *   doneText: (answer: any) => string }} d
   */
  openDecision(d) {
    const reason = /** @type {HTMLInputElement} */ (
      h("input", { id: "decision-reason", name: "reason", maxlength: 500, autocomplete: "off" })
    );
    const reasonField = h(
      "div",
      { class: "field" },
      h("label", { for: reason.id }, "Reason (kept in the history)"),
      reason,
    );
    const problem = h("div");
    const go = h("button", { type: "submit", class: "primary" }, d.action);
    const cancel = h("button", { type: "button" }, "Cancel");
    const form = h(
      "form",
      { class: "decision", "aria-labelledby": "decision-title", novalidate: true },
      h("h3", { id: "decision-title" }, `${d.title}?`),
      h("p", {}, d.text),
      h("div", { class: "fields" }, ...d.extra, reasonField),
      problem,
      h("div", { class: "row" }, go, cancel),
    );
    cancel.addEventListener("click", () => {
      replace(this.decision);
      d.opener.focus();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(problem);
      if (!requireReason(reason, reasonField)) return;
      go.disabled = true;
      try {
        const text = d.doneText(await d.send(reason.value.trim()));
        replace(this.done, h("p", { class: "notice ok" }, text));
        announce(text);
        await this.load();
        this.title.focus();
      } catch (error) {
        go.disabled = false;
        replace(problem, problemView(error));
      }
    });
    replace(this.decision, form);
    /** @type {HTMLElement} */ (form.querySelector("input") ?? reason).focus();
  }

  timeline() {
    const list = h("ol", { class: "timeline" }, this.events.map(eventItem));
    const more = h("button", { type: "button", hidden: this.nextCursor === null }, "Show older");
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        /** @type {HistoryPage} */
        const page = await api(
          "GET",
          modelPath(this.model.name, `history?limit=${HISTORY_PAGE}&cursor=${this.nextCursor}`),
        );
        this.events.push(...page.events);
        this.nextCursor = page.nextCursor;
        list.append(...page.events.map(eventItem));
        more.hidden = page.nextCursor === null;
      } catch (error) {
        more.after(problemView(error));
      } finally {
        more.disabled = false;
      }
    });
    if (this.events.length === 0) return h("p", { class: "meta" }, "Nothing recorded yet.");
    return [list, more];
  }
}

/**
 * A reason is asked for: the API takes none, but a move nobody can explain later is what the
 * history is there to prevent.
 * @param {HTMLInputElement} input
 * @param {HTMLElement} field
 */
function requireReason(input, field) {
  field.querySelector(".field-error")?.remove();
  input.removeAttribute("aria-invalid");
  input.removeAttribute("aria-describedby");
  if (input.value.trim() !== "") return true;
  field.append(
    h("p", { class: "field-error", id: "decision-reason-error" }, "Say why; the history keeps it."),
  );
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", "decision-reason-error");
  input.focus();
  return false;
}

/** @param {number} versions */
function splitFigure(versions) {
  return versions === 0 ? "none" : `${versions} versions`;
}

/** @param {AliasView} alias */
function aliasChip(alias) {
  return h(
    "span",
    {
      class: alias.alias === PRODUCTION ? "alias alias-production" : "alias",
      title: `set ${formatTime(alias.updatedAt)}${alias.updatedBy ? ` by ${alias.updatedBy}` : ""}`,
    },
    alias.alias,
  );
}

/**
 * The split as shares of one bar, and each version's figures on this server.
 * @param {TrafficView | null} traffic
 * @param {string} route
 */
function trafficPart(traffic, route) {
  if (!traffic) return null;
  const weights = new Map(traffic.split.map((s) => [s.version, s.weight]));
  const rows = [
    ...traffic.split,
    ...traffic.served.filter((s) => !weights.has(s.version)).map((s) => ({ ...s, weight: null })),
  ];
  const bar =
    traffic.split.length === 0
      ? null
      : h(
          "div",
          {
            class: "share-bar",
            role: "img",
            "aria-label": `Split: ${route.replace(/^the split: /, "")}`,
          },
          traffic.split.map((s, i) => {
            const part = h("span");
            part.style.width = `${s.weight}%`;
            part.style.background = `var(${SHARE_COLOURS[i % SHARE_COLOURS.length]})`;
            return part;
          }),
        );
  const ms = (/** @type {number | null} */ v) => (v === null ? "—" : `${v.toFixed(1)} ms`);
  const shadow = traffic.shadow;
  return [
    h(
      "p",
      {},
      traffic.split.length === 0
        ? `No split: unpinned requests go to ${route}.`
        : `Unpinned requests follow ${route}${traffic.stickyBy ? ", sticky by routing key" : ""}.`,
    ),
    bar,
    rows.length === 0
      ? h("p", { class: "meta" }, "This server has answered no request for this model yet.")
      : scrollBox(
          "Requests per version",
          h(
            "table",
            { class: "stack traffic" },
            h("caption", {}, "Requests this server answered, per version, since it started"),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["version", "split", "requests", "errors", "p50", "p99"].map((c, i) =>
                  h("th", { scope: "col", class: i > 0 ? "num" : null }, c),
                ),
              ),
            ),
            h(
              "tbody",
              {},
              rows.map((s) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row", "data-label": "version" }, `v${s.version}`),
                  h(
                    "td",
                    { class: "num", "data-label": "split" },
                    s.weight === null ? "—" : `${s.weight} %`,
                  ),
                  h("td", { class: "num", "data-label": "requests" }, String(s.requests)),
                  h("td", { class: "num", "data-label": "errors" }, String(s.errors)),
                  h("td", { class: "num", "data-label": "p50" }, ms(s.p50Ms)),
                  h("td", { class: "num", "data-label": "p99" }, ms(s.p99Ms)),
                ),
              ),
            ),
          ),
        ),
    shadow
      ? h(
          "p",
          { class: "meta" },
          `Shadow v${shadow.version}: ${shadow.rowsCompared} rows compared, `,
          shadow.labelAgreement !== null
            ? `${(shadow.labelAgreement * 100).toFixed(1)} % the same label`
            : `mean absolute difference ${shadow.meanAbsoluteDifference?.toPrecision(3) ?? "—"}`,
          `, ${shadow.errors} failed, ${shadow.skipped} skipped.`,
        )
      : null,
  ];
}

/** @type {Record<string, (e: ModelEvent) => string>} */
const EVENT_TEXT = {
  version_created: (e) =>
    `v${e.toVersion} created${e.jobId ? ` by job ${e.jobId.slice(0, 8)}` : ""}`,
  version_deleted: (e) => `v${e.fromVersion} deleted`,
  alias_set: (e) => `${e.alias} set to v${e.toVersion}`,
  alias_moved: (e) => `${e.alias} moved from v${e.fromVersion} to v${e.toVersion}`,
  alias_removed: (e) => `${e.alias} removed (was v${e.fromVersion})`,
  rollback: (e) => `${e.alias} rolled back from v${e.fromVersion} to v${e.toVersion}`,
  traffic_set: (e) => {
    const detail =
      /** @type {{ split?: { version: number, weight: number }[], shadow?: number } | null} */ (
        e.detail
      );
    const split = (detail?.split ?? []).map((s) => `v${s.version} ${s.weight} %`).join(", ");
    return `traffic split ${split}${detail?.shadow ? `, shadow v${detail.shadow}` : ""}`;
  },
  traffic_cleared: () => "traffic split removed",
  model_deleted: () => "model deleted",
};

/** @param {ModelEvent} e */
function eventItem(e) {
  const text = EVENT_TEXT[e.kind]?.(e) ?? e.kind;
  return h(
    "li",
    { class: "event", "data-kind": e.kind },
    h("time", { datetime: e.at }, formatTime(e.at)),
    h("span", { class: "what" }, text),
    e.actor ? h("span", { class: "meta" }, ` by key ${e.actor}`) : null,
    e.reason ? h("q", {}, e.reason) : null,
  );
}
