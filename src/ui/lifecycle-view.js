// @ts-nocheck -- typed in JSDoc by the dashboard follow-up (issue 27); until then it is checked by its browser test only
// Going live, on a model's page: which version each alias points at, Promote and Roll back
// (each asks to confirm and for a reason, which the history keeps), the traffic split with this
// server's figures per version, and the history as a timeline, newest first.

import { api } from "./api.js";
import { announce, formatNumber, formatTime, h, replace } from "./dom.js";
import { problemView } from "./try-it.js";

const PRODUCTION = "production";
const path = (name, rest) => `/models/${encodeURIComponent(name)}/${rest}`;

/** The section, filled in once aliases, traffic and history have loaded. */
export function lifecycleSection(model) {
  const section = h("section", { class: "lifecycle", "aria-labelledby": "going-live" });
  const refresh = async () => {
    try {
      const [{ aliases }, traffic, history] = await Promise.all([
        api("GET", path(model.name, "aliases")),
        api("GET", path(model.name, "traffic")),
        api("GET", path(model.name, "history?limit=20")),
      ]);
      replace(
        section,
        h("h2", { id: "going-live" }, "Going live"),
        aliasTable(model, aliases, refresh),
        trafficView(traffic),
        timeline(model.name, history),
      );
    } catch (error) {
      replace(section, h("h2", { id: "going-live" }, "Going live"), problemView(error));
    }
  };
  refresh();
  return section;
}

/** Ready versions with their aliases; Promote on each, Roll back when production has moved. */
function aliasTable(model, aliases, refresh) {
  const byVersion = new Map();
  for (const a of aliases) byVersion.set(a.version, [...(byVersion.get(a.version) ?? []), a]);
  const production = aliases.find((a) => a.alias === PRODUCTION);
  const ready = model.versions.filter((v) => v.status === "ready").reverse();
  const slot = h("div", { "aria-live": "polite" });
  const ask = (question, action, run) => replace(slot, confirmForm(question, action, run, slot));
  const change = async (method, rest, body, done) => {
    await api(method, path(model.name, rest), body);
    announce(done);
    await refresh();
  };
  const rows = ready.map((v) =>
    h(
      "tr",
      {},
      h("td", { "data-label": "version" }, `v${v.version}`),
      h(
        "td",
        { "data-label": "aliases" },
        (byVersion.get(v.version) ?? []).map((a) =>
          h(
            "span",
            { class: `alias alias-${a.alias}`, title: `set ${formatTime(a.updatedAt)}` },
            a.alias,
          ),
        ),
      ),
      h(
        "td",
        {},
        production?.version === v.version
          ? null
          : h(
              "button",
              {
                type: "button",
                onclick: () =>
                  ask(`Promote v${v.version} to production?`, "Promote", (reason) =>
                    change(
                      "PUT",
                      `aliases/${PRODUCTION}`,
                      { version: v.version, reason },
                      `v${v.version} is now production`,
                    ),
                  ),
              },
              `Promote v${v.version}`,
            ),
      ),
    ),
  );
  const rollBack = production
    ? h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () =>
            ask(
              `Roll production back from v${production.version} to the version it held before?`,
              "Roll back",
              (reason) =>
                change("POST", "rollback", { alias: PRODUCTION, reason }, "Production rolled back"),
            ),
        },
        "Roll back production",
      )
    : null;
  return [
    ready.length === 0
      ? h("p", { class: "notice" }, "No version is ready to promote yet.")
      : h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "stack" },
            h(
              "caption",
              {},
              production
                ? `Production is v${production.version}`
                : "No production alias: the newest ready version serves",
            ),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["version", "aliases", ""].map((c) => h("th", { scope: "col" }, c)),
              ),
            ),
            h("tbody", {}, rows),
          ),
        ),
    h("div", { class: "row" }, rollBack),
    slot,
  ];
}

/** Asks to confirm, with a reason for the history; runs `run(reason)` on Confirm. */
function confirmForm(question, action, run, slot) {
  const id = `reason-${Math.random().toString(36).slice(2)}`;
  const reason = h("input", { id, name: "reason", maxlength: 500, required: true });
  const message = h("div");
  const form = h(
    "form",
    { class: "confirm" },
    h("p", {}, question),
    h("div", { class: "field" }, h("label", { for: id }, "Reason (kept in the history)"), reason),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit" }, action),
      h("button", { type: "button", class: "secondary", onclick: () => replace(slot) }, "Cancel"),
    ),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      await run(reason.value.trim() || undefined);
      replace(slot);
    } catch (error) {
      submit.disabled = false;
      replace(message, problemView(error));
    }
  });
  queueMicrotask(() => reason.focus());
  return form;
}

function trafficView(traffic) {
  const figure = (value, unit = "") => (value === null ? "—" : `${formatNumber(value)}${unit}`);
  const rows = traffic.split.map((s) =>
    h(
      "tr",
      {},
      h("td", { "data-label": "version" }, `v${s.version}`),
      h("td", { "data-label": "weight" }, `${s.weight}%`),
      h("td", { "data-label": "requests" }, String(s.requests)),
      h("td", { "data-label": "errors" }, String(s.errors)),
      h("td", { "data-label": "p50" }, figure(s.p50Ms, " ms")),
      h("td", { "data-label": "p99" }, figure(s.p99Ms, " ms")),
    ),
  );
  const shadow = traffic.shadow;
  return [
    h("h3", {}, "Traffic"),
    traffic.split.length === 0
      ? h("p", {}, "No split: every request goes to production, else the newest ready version.")
      : h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "stack" },
            h(
              "caption",
              {},
              `Split${traffic.stickyBy ? ", sticky by routing key" : ""} (figures of this server)`,
            ),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["version", "weight", "requests", "errors", "p50", "p99"].map((c) =>
                  h("th", { scope: "col" }, c),
                ),
              ),
            ),
            h("tbody", {}, rows),
          ),
        ),
    shadow
      ? h(
          "p",
          { class: "shadow" },
          `Shadow v${shadow.version}: ${shadow.rowsCompared} rows compared, `,
          shadow.labelAgreement !== null
            ? `${formatNumber(shadow.labelAgreement * 100, 3)}% same label`
            : `mean absolute difference ${figure(shadow.meanAbsoluteDifference)}`,
          `, ${shadow.errors} failed, ${shadow.skipped} skipped`,
        )
      : null,
  ];
}

const EVENT_TEXT = {
  version_created: (e) =>
    `v${e.toVersion} created${e.jobId ? ` by job ${e.jobId.slice(0, 8)}` : ""}`,
  version_deleted: (e) => `v${e.fromVersion} deleted`,
  alias_set: (e) => `${e.alias} set to v${e.toVersion}`,
  alias_moved: (e) => `${e.alias} moved from v${e.fromVersion} to v${e.toVersion}`,
  alias_removed: (e) => `${e.alias} removed (was v${e.fromVersion})`,
  rollback: (e) => `${e.alias} rolled back from v${e.fromVersion} to v${e.toVersion}`,
  traffic_set: (e) =>
    `traffic split ${(e.detail?.split ?? []).map((s) => `v${s.version} ${s.weight}%`).join(", ")}${e.detail?.shadow ? `, shadow v${e.detail.shadow}` : ""}`,
  traffic_cleared: () => "traffic split removed",
  model_deleted: () => "model deleted",
};

/** The history, newest first, with "Show older" while there is more. */
function timeline(name, first) {
  const list = h("ol", { class: "timeline", reversed: true });
  const more = h("button", { type: "button", class: "secondary" }, "Show older");
  const add = (page) => {
    for (const e of page.events) {
      list.append(
        h(
          "li",
          { "data-kind": e.kind },
          h("time", { datetime: e.at }, formatTime(e.at)),
          " ",
          (EVENT_TEXT[e.kind] ?? (() => e.kind))(e),
          e.actor ? ` · by ${e.actor}` : "",
          e.reason ? h("q", {}, e.reason) : null,
        ),
      );
    }
    more.hidden = page.nextCursor === null;
    more.onclick = async () =>
      add(await api("GET", path(name, `history?limit=20&cursor=${page.nextCursor}`)));
  };
  add(first);
  return [h("h3", {}, "History"), list, more];
}
