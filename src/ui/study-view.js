// #/studies/{id}: one study, live. Headline figures (trials done, the best so far, epochs spent
// against running every trial to the end), every trial's objective on one chart (pruned trials
// faded, the best emphasised), the leaderboard with Promote, and the study's latest decisions.
// While it runs, each event of GET /studies/{id}/events makes the page fetch the study and its
// curves again (one fetch at a time; events that come meanwhile make one more).
import { api, followStudy } from "./api.js";
import { trialsChart } from "./chart.js";
import {
  announce,
  backLink,
  confirmAction,
  formatNumber,
  formatTime,
  h,
  heading,
  replace,
  statusBadge,
} from "./dom.js";
import { Leaderboard } from "./study-leaderboard.js";
import {
  countTrials,
  epochCount,
  objectiveLabel,
  objectiveText,
  studyTitle,
  TRIAL_STOPPED,
  trialsDoneText,
} from "./study-text.js";
import { problemView } from "./try-it.js";

/** @typedef {import("./types.js").Study} Study */
/** @typedef {import("./types.js").StudyCurves} StudyCurves */
/** @typedef {import("./types.js").StudyEvent} StudyEvent */
/** @typedef {import("./types.js").AliasView} AliasView */
/** @typedef {import("./chart.js").TrialLine} TrialLine */

const SHOWN_EVENTS = 8;

/** @param {string} id */
const studyPath = (id) => `/studies/${encodeURIComponent(id)}`;

/**
 * @param {HTMLElement} main
 * @param {string} id
 * @param {AbortSignal} signal
 */
export async function studyView(main, id, signal) {
  const page = new StudyPage(id, signal);
  const [study, curves, aliases] = await page.fetch();
  replace(main, ...page.render(study));
  page.show(study, curves, aliases);
  // A finished study's stream replays its decisions and ends; a running one's stays open.
  await page.follow(study.status === "running");
}

/** The page's state: the study, its curves and its model's aliases as last fetched. */
class StudyPage {
  /** @type {Study | undefined} */
  study;
  /** @type {ReturnType<typeof trialsChart> | undefined} made when the objective is known */
  chart;
  /** @type {StudyEvent[]} newest first */
  events = [];
  loading = false;
  again = false;
  live = false;

  /** @param {string} id @param {AbortSignal} signal */
  constructor(id, signal) {
    this.id = id;
    this.signal = signal;
    this.statusLine = h("p", { id: "study-status", class: "row", role: "status" });
    this.meta = h("p", { class: "meta" });
    this.errorSlot = h("div");
    this.figures = h("div", { id: "study-figures" });
    this.cancelSlot = h("div");
    this.leaderboard = new Leaderboard(() => void this.refresh());
    this.decisions = h("ol", { class: "timeline", id: "study-events" });
    this.connection = h("p", { class: "chart-latest", "aria-live": "polite" });
  }

  /** @returns {Promise<[Study, StudyCurves, AliasView[]]>} */
  async fetch() {
    /** @type {[Study, StudyCurves]} */
    const [study, curves] = await Promise.all([
      api("GET", studyPath(this.id)),
      api("GET", `${studyPath(this.id)}/curves`),
    ]);
    // The model has no aliases (or does not exist) before a trial trained a version.
    /** @type {{ aliases: AliasView[] }} */
    const { aliases } = await api(
      "GET",
      `/models/${encodeURIComponent(study.model)}/aliases`,
    ).catch(() => ({ aliases: [] }));
    return [study, curves, aliases];
  }

  /** @param {Study} study */
  render(study) {
    this.chart = trialsChart(`${objectiveLabel(study.objective.metric)} per epoch, every trial`);
    this.chart.el.id = "study-chart";
    return [
      backLink("#/studies", "All studies"),
      h("div", { class: "page-head" }, heading(studyTitle(study)), this.cancelSlot),
      this.statusLine,
      this.meta,
      this.errorSlot,
      this.figures,
      h("h2", {}, "Trials"),
      this.chart.el,
      this.leaderboard.el,
      h("h2", {}, "Latest decisions"),
      this.decisions,
      this.connection,
    ];
  }

  /**
   * @param {Study} study
   * @param {StudyCurves} curves
   * @param {AliasView[]} aliases
   */
  show(study, curves, aliases) {
    const before = this.study;
    this.study = study;
    replace(this.statusLine, "Status: ", statusBadge(study.status));
    replace(this.meta, ...describe(study));
    replace(this.figures, headline(study));
    replace(
      this.errorSlot,
      study.error
        ? h(
            "div",
            { class: "error-box", role: "alert" },
            h("strong", {}, "The study failed: "),
            study.error,
          )
        : null,
    );
    if (before?.status !== study.status) this.showCancel(study);
    const { lines, description } = chartLines(study, curves);
    this.chart?.show(lines, description);
    this.leaderboard.show(study, aliases);
    if (this.events.length === 0) {
      replace(
        this.decisions,
        h("li", { class: "meta" }, "Decisions appear here as they are made."),
      );
    }
  }

  /** @param {Study} study */
  showCancel(study) {
    if (study.status !== "running") {
      replace(this.cancelSlot);
      return;
    }
    replace(
      this.cancelSlot,
      confirmAction({
        label: "Cancel study",
        name: studyTitle(study),
        what: "Stop the study? Queued trials are cancelled and running ones stop at their next epoch. Versions already trained stay.",
        keep: "Keep it running",
        run: async () => {
          await api("POST", `${studyPath(this.id)}/cancel`);
          announce("Study cancelled");
          await this.refresh();
        },
        onError: (error) => replace(this.errorSlot, problemView(error)),
      }),
    );
  }

  /** Fetches again; while a fetch runs, further calls make one more after it. */
  async refresh() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const [study, curves, aliases] = await this.fetch();
      if (!this.signal.aborted) this.show(study, curves, aliases);
    } catch (error) {
      if (!this.signal.aborted) replace(this.connection, `Could not refresh: ${String(error)}`);
    } finally {
      this.loading = false;
      if (this.again && !this.signal.aborted) {
        this.again = false;
        void this.refresh();
      }
    }
  }

  /** @param {boolean} live the study is running: say what changes, and fetch it again */
  async follow(live) {
    this.live = live;
    try {
      await followStudy(this.id, {
        signal: this.signal,
        onConnection: (state) => {
          this.connection.textContent =
            state === "reconnecting"
              ? "Connection lost; reconnecting…"
              : live
                ? "Live: the page follows the study's decisions."
                : "";
        },
        onEvent: (_name, event) => this.onEvent(event),
      });
      if (!this.signal.aborted) this.connection.textContent = "";
    } catch (error) {
      if (!this.signal.aborted) {
        replace(
          this.connection,
          `Live updates stopped: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }

  /** @param {StudyEvent} event */
  onEvent(event) {
    this.events.unshift(event);
    this.events.length = Math.min(this.events.length, SHOWN_EVENTS);
    replace(this.decisions, this.events.map(eventItem));
    if (!this.live) return;
    const metric = objectiveLabel(this.study?.objective.metric ?? "");
    if (event.type === "best.changed") {
      announce(`New best: trial ${event.trial}, ${metric} ${formatNumber(event.metric)}`);
    } else if (event.type === "study.finished") {
      announce(`Study ${event.status}`);
    }
    void this.refresh();
  }
}

/**
 * The headline figures, each a number and a line that says what it is made of.
 * @param {Study} study
 */
function headline(study) {
  const counts = countTrials(study);
  const made = Object.entries(counts).map(([status, n]) => `${n} ${status}`);
  const best = study.best;
  const { epochsSpent: spent, epochsIfExhaustive: all } = study;
  /** @type {[string, string, string][]} */
  const items = [
    ["Trials done", trialsDoneText(counts, study.budget.trials), made.join(", ")],
    [
      `Best ${objectiveLabel(study.objective.metric)}`,
      best ? formatNumber(best.metric) : "none yet",
      best
        ? `trial ${best.trial}${best.version === null ? "" : `, v${best.version}`}, at ${epochCount(best.epochs)}`
        : "no trial has reached a rung",
    ],
    [
      "Epochs spent",
      String(spent),
      `of ${all} to run every trial to the end (${all > 0 ? Math.round((100 * spent) / all) : 0} %)`,
    ],
  ];
  return h(
    "dl",
    { class: "figures study-figures" },
    items.map(([label, value, sub]) =>
      h("div", {}, h("dt", {}, label), h("dd", {}, value, h("span", { class: "figure-sub" }, sub))),
    ),
  );
}

/** The study's settings in a line, with links to its model and dataset. @param {Study} study */
function describe(study) {
  const model = h("a", { href: `#/models/${encodeURIComponent(study.model)}` }, study.model);
  const dataset = study.dataset
    ? h("a", { href: `#/datasets/${encodeURIComponent(study.dataset)}` }, "dataset")
    : "dataset deleted";
  return [
    "Model ",
    model,
    " · ",
    dataset,
    ` · target ${study.target} · ${objectiveText(study.objective.metric)} · ${study.scheduler}, rungs at ${study.rungs.join(", ")} epochs · seed ${study.seed} · keep ${study.keep}`,
    study.promote ? ` · winner to ${study.promote.alias}` : "",
    ` · started ${formatTime(study.createdAt)}`,
    study.finishedAt ? `, ended ${formatTime(study.finishedAt)}` : "",
  ];
}

/**
 * Each trial's objective per epoch as a chart line, and the text that says what the chart shows.
 * @param {Study} study
 * @param {StudyCurves} curves
 * @returns {{ lines: TrialLine[], description: string }}
 */
function chartLines(study, curves) {
  const metric = study.objective.metric;
  const bestTrial = study.best?.trial;
  const lines = curves.trials
    .filter((t) => t.points.length > 0)
    .map((t) => {
      /** @type {(number | null)[]} */
      const values = [];
      for (const p of t.points) values[p.epoch - 1] = p[metric];
      /** @type {TrialLine["look"]} */
      const look =
        t.trial === bestTrial ? "best" : TRIAL_STOPPED.has(t.status) ? "faded" : "normal";
      return { label: `trial ${t.trial}`, values: Array.from(values, (v) => v ?? null), look };
    });
  if (lines.length === 0) return { lines, description: "no epochs yet" };
  const faded = lines.filter((l) => l.look === "faded").length;
  const best = study.best
    ? `the best, trial ${study.best.trial} (thick line), reached ${objectiveLabel(metric)} ${formatNumber(study.best.metric)} at ${epochCount(study.best.epochs)}`
    : "no trial has reached a rung yet";
  return {
    lines,
    description: `${lines.length} trials; ${best}; ${faded} stopped early (faded).`,
  };
}

/** @type {Record<string, (e: StudyEvent) => string>} */
const EVENT_TEXT = {
  "trial.started": (e) => `trial ${e.trial} started`,
  "rung.reached": (e) =>
    `trial ${e.trial} reached rung ${(e.rung ?? 0) + 1} at ${epochCount(e.epochs)}: ${formatNumber(e.metric)}`,
  "trial.promoted": (e) => `trial ${e.trial} promoted past ${epochCount(e.epochs)}`,
  "trial.pruned": (e) => `trial ${e.trial} pruned at ${epochCount(e.epochs)}`,
  "trial.completed": (e) => `trial ${e.trial} completed ${epochCount(e.epochs)}`,
  "trial.failed": (e) => `trial ${e.trial} failed`,
  "best.changed": (e) =>
    `new best: trial ${e.trial}, ${formatNumber(e.metric)}${e.version ? ` (v${e.version})` : ""}`,
  "study.finished": (e) => `study ${e.status}`,
};

/** @param {StudyEvent} e */
function eventItem(e) {
  return h(
    "li",
    { class: "event", "data-type": e.type },
    h("time", { datetime: e.at }, formatTime(e.at)),
    h("span", { class: "what" }, EVENT_TEXT[e.type]?.(e) ?? e.type),
  );
}
