import { api, followJob } from "./api.js";
import { metricChart } from "./chart.js";
import {
  announce,
  backLink,
  formatDuration,
  formatTime,
  h,
  heading,
  metricList,
  replace,
  statusBadge,
} from "./dom.js";
import { progressBar } from "./jobs-view.js";
import { problemView, tryItPanel } from "./try-it.js";

/** @typedef {import("./types.js").Job} Job */
/** @typedef {import("./types.js").Epoch} Epoch */
/** @typedef {import("./types.js").Model} Model */
/** @typedef {import("./types.js").ModelVersion} ModelVersion */
/**
 * What the issue-21 early stopping adds to the job view, where the server sends it.
 * @typedef {Job & { stoppedEarly?: boolean, bestEpoch?: number | null }} JobWithStop
 */

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/**
 * How far the job got, in words: a job that stopped early is complete, not 13 % done. The
 * server already reports such a job's progress as epoch of epoch (docs/api.md), so the words
 * say where it stopped, not a count it never reached.
 * @param {JobWithStop} job
 */
export function progressText(job) {
  const { epoch, epochs } = job.progress;
  const early = job.stoppedEarly ?? (job.status === "succeeded" && epoch < epochs);
  if (job.status === "succeeded" && early) {
    const best = typeof job.bestEpoch === "number" ? `, best epoch ${job.bestEpoch} restored` : "";
    return `Complete: stopped early at epoch ${epoch}${best}`;
  }
  if (job.status === "succeeded") return `Complete: ${epochs} epochs`;
  return `epoch ${epoch} of ${epochs}`;
}

/**
 * @param {Job} job
 * @returns {Promise<ModelVersion | undefined>}
 */
async function versionOf(job) {
  /** @type {Model} */
  const model = await api("GET", `/models/${encodeURIComponent(job.model)}`);
  return model.versions.find((v) => v.version === job.version);
}

/**
 * #/jobs/{id}: the job's state and its curves, live from GET /jobs/{id}/events. The loss chart
 * always; accuracy for classifiers, MAE (in the target's units) for regressors, once an epoch
 * shows which it is.
 * @param {HTMLElement} main
 * @param {string} id
 * @param {AbortSignal} signal
 */
export async function jobView(main, id, signal) {
  /** @type {Job} */
  const first = await api("GET", `/jobs/${encodeURIComponent(id)}`);
  // The version says how a regressor's MAE converts back to the target's units.
  const version = await versionOf(first).catch(() => undefined);
  const page = new JobPage(id, first, version);
  replace(main, ...page.render());
  await followJob(id, {
    signal,
    onConnection: (state) => {
      page.connection.textContent = state === "open" ? "" : "Connection lost; reconnecting…";
    },
    onEvent: (name, data, { resumed }) => page.onEvent(name, data, resumed),
  });
}

/**
 * One job's page: the job as last seen, its version once known, and the charts that grow as
 * epochs arrive from the event stream.
 */
class JobPage {
  /** @type {JobWithStop | undefined} */
  job;
  /** @type {ReturnType<typeof metricChart> | undefined} accuracy or MAE, once an epoch says which */
  secondChart;

  /**
   * @param {string} id
   * @param {Job} first
   * @param {ModelVersion | undefined} version
   */
  constructor(id, first, version) {
    this.id = id;
    this.first = first;
    this.version = version;
    this.target = version?.preprocessing?.target;
    this.maeScale = this.target?.type === "numeric" ? this.target.scale : 1;
    this.statusLine = h("p", {
      id: "job-status",
      role: "status",
      "aria-live": "polite",
      class: "row",
    });
    this.progress = h("div", { class: "row", id: "job-progress-line" });
    this.times = h("p", { class: "meta" });
    this.latest = h("div");
    this.errorSlot = h("div");
    this.links = h("p", { class: "row" });
    this.connection = h("p", { class: "chart-latest", "aria-live": "polite" });
    this.lossChart = metricChart("Loss", [
      { key: "loss", label: "loss" },
      { key: "valLoss", label: "val loss" },
    ]);
    this.lossChart.el.id = "chart-loss";
    this.charts = h("div", { class: "charts" }, this.lossChart.el);
    this.panelSlot = h("div");
    this.cancel = h("button", { type: "button", hidden: true }, "Cancel job");
    this.cancel.addEventListener("click", () => void this.requestCancel());
  }

  render() {
    return [
      backLink("#/jobs", "All jobs"),
      heading(`Job: ${this.first.model} v${this.first.version}`),
      this.statusLine,
      this.progress,
      this.times,
      h("div", { class: "row" }, this.cancel),
      this.links,
      this.errorSlot,
      h("h2", {}, "Latest metrics"),
      this.latest,
      h("h2", {}, "Training curves"),
      this.charts,
      this.connection,
      this.panelSlot,
    ];
  }

  async requestCancel() {
    this.cancel.disabled = true;
    try {
      void this.showJob(await api("POST", `/jobs/${this.id}/cancel`));
    } catch (error) {
      this.cancel.disabled = false;
      replace(this.errorSlot, problemView(error));
    }
  }

  /**
   * @param {string} name
   * @param {any} data
   * @param {boolean} resumed
   */
  onEvent(name, data, resumed) {
    if (name === "snapshot") {
      // After a reconnect the snapshot holds only the epochs this page has not drawn.
      if (!resumed) this.resetCharts();
      for (const epoch of data.epochs) this.addEpoch(epoch);
      void this.showJob(data.job);
    } else if (name === "epoch") {
      this.addEpoch(data);
      const job = this.job;
      if (job)
        void this.showJob({
          ...job,
          progress: { ...job.progress, epoch: data.epoch },
          metrics: data,
        });
    } else if (name === "restart") {
      this.resetCharts();
      void this.showJob(data.job);
      announce("A new attempt started; the curves start again");
    } else if (name === "status" || name === "end") {
      void this.showJob(data.job);
      announce(`Job ${data.job.status}`);
    }
  }

  resetCharts() {
    this.lossChart.reset();
    this.secondChart?.reset();
  }

  /** @param {Epoch} epoch */
  addEpoch(epoch) {
    this.ensureSecondChart(epoch);
    this.lossChart.push(epoch);
    this.secondChart?.push(epoch);
  }

  /** @param {Epoch} epoch */
  ensureSecondChart(epoch) {
    if (this.secondChart) return;
    if (epoch.accuracy !== undefined) {
      this.secondChart = metricChart("Accuracy", [
        { key: "accuracy", label: "accuracy" },
        { key: "valAccuracy", label: "val accuracy" },
      ]);
      this.secondChart.el.id = "chart-accuracy";
    } else if (epoch.mae !== undefined) {
      const title = this.target
        ? `Mean absolute error (${this.target.name})`
        : "Mean absolute error";
      this.secondChart = metricChart(title, [
        { key: "mae", label: "MAE", scale: this.maeScale },
        { key: "valMae", label: "val MAE", scale: this.maeScale },
      ]);
      this.secondChart.el.id = "chart-mae";
    } else return;
    this.charts.append(this.secondChart.el);
  }

  /** @param {JobWithStop} next */
  async showJob(next) {
    const statusChanged = this.job?.status !== next.status;
    const job = next;
    this.job = job;
    replace(
      this.statusLine,
      "Status: ",
      statusBadge(job.status),
      job.cancelRequested && !FINISHED.has(job.status) ? " (cancel requested)" : "",
    );
    replace(
      this.progress,
      progressBar(job, "job-progress"),
      ` ${progressText(job)} · attempt ${job.attempts}`,
    );
    replace(
      this.times,
      `created ${formatTime(job.createdAt)} · started ${formatTime(job.startedAt)} · finished ${formatTime(job.finishedAt)} · took ${formatDuration(job.startedAt, job.finishedAt)}`,
    );
    replace(this.latest, metricList(job.metrics, this.version?.preprocessing));
    this.cancel.hidden = FINISHED.has(job.status);
    this.cancel.disabled = job.cancelRequested;
    if (job.status === "failed") {
      replace(
        this.errorSlot,
        h(
          "div",
          { class: "error-box", role: "alert" },
          h("strong", {}, "The job failed: "),
          job.error ?? "no reason was recorded",
        ),
      );
    }
    if (statusChanged && job.status === "succeeded") await this.showResult(job);
  }

  /** @param {Job} done */
  async showResult(done) {
    try {
      const version = await versionOf(done);
      this.version = version;
      const href = `#/models/${encodeURIComponent(done.model)}/versions/${done.version}`;
      replace(
        this.links,
        h(
          "a",
          { class: "button primary", href },
          version?.evaluation ? "See the evaluation" : "Open the version",
        ),
      );
      if (version?.status === "ready") replace(this.panelSlot, tryItPanel(done.model, version));
    } catch (error) {
      replace(this.panelSlot, problemView(error));
    }
  }
}
