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
  // The version says how a regressor's MAE converts back to the target's units.
  /** @type {Job} */
  const first = await api("GET", `/jobs/${encodeURIComponent(id)}`);
  let version = await versionOf(first).catch(() => undefined);
  const target = version?.preprocessing?.target;
  const maeScale = target?.type === "numeric" ? target.scale : 1;

  const title = heading(`Job: ${first.model} v${first.version}`);
  const statusLine = h("p", {
    id: "job-status",
    role: "status",
    "aria-live": "polite",
    class: "row",
  });
  const progress = h("div", { class: "row", id: "job-progress-line" });
  const times = h("p", { class: "meta" });
  const latest = h("div");
  const errorSlot = h("div");
  const links = h("p", { class: "row" });
  const connection = h("p", { class: "chart-latest", "aria-live": "polite" });
  const lossChart = metricChart("Loss", [
    { key: "loss", label: "loss" },
    { key: "valLoss", label: "val loss" },
  ]);
  lossChart.el.id = "chart-loss";
  const charts = h("div", { class: "charts" }, lossChart.el);
  /** @type {ReturnType<typeof metricChart> | undefined} */
  let secondChart;
  const panelSlot = h("div");
  const cancel = h("button", { type: "button", hidden: true }, "Cancel job");
  /** @type {JobWithStop | undefined} */
  let job;

  replace(
    main,
    backLink("#/jobs", "All jobs"),
    title,
    statusLine,
    progress,
    times,
    h("div", { class: "row" }, cancel),
    links,
    errorSlot,
    h("h2", {}, "Latest metrics"),
    latest,
    h("h2", {}, "Training curves"),
    charts,
    connection,
    panelSlot,
  );

  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      void showJob(await api("POST", `/jobs/${id}/cancel`));
    } catch (error) {
      cancel.disabled = false;
      replace(errorSlot, problemView(error));
    }
  });

  /** @param {Epoch} epoch */
  const ensureSecondChart = (epoch) => {
    if (secondChart) return;
    if (epoch.accuracy !== undefined) {
      secondChart = metricChart("Accuracy", [
        { key: "accuracy", label: "accuracy" },
        { key: "valAccuracy", label: "val accuracy" },
      ]);
      secondChart.el.id = "chart-accuracy";
    } else if (epoch.mae !== undefined) {
      secondChart = metricChart(
        target ? `Mean absolute error (${target.name})` : "Mean absolute error",
        [
          { key: "mae", label: "MAE", scale: maeScale },
          { key: "valMae", label: "val MAE", scale: maeScale },
        ],
      );
      secondChart.el.id = "chart-mae";
    } else return;
    charts.append(secondChart.el);
  };
  /** @param {Epoch} epoch */
  const addEpoch = (epoch) => {
    ensureSecondChart(epoch);
    lossChart.push(epoch);
    secondChart?.push(epoch);
  };

  /** @param {JobWithStop} next */
  const showJob = async (next) => {
    const statusChanged = job?.status !== next.status;
    job = next;
    replace(
      statusLine,
      "Status: ",
      statusBadge(job.status),
      job.cancelRequested && !FINISHED.has(job.status) ? " (cancel requested)" : "",
    );
    replace(
      progress,
      progressBar(job, "job-progress"),
      ` ${progressText(job)} · attempt ${job.attempts}`,
    );
    replace(
      times,
      `created ${formatTime(job.createdAt)} · started ${formatTime(job.startedAt)} · finished ${formatTime(job.finishedAt)} · took ${formatDuration(job.startedAt, job.finishedAt)}`,
    );
    replace(latest, metricList(job.metrics, version?.preprocessing));
    cancel.hidden = FINISHED.has(job.status);
    cancel.disabled = job.cancelRequested;
    if (job.status === "failed") {
      replace(
        errorSlot,
        h(
          "div",
          { class: "error-box", role: "alert" },
          h("strong", {}, "The job failed: "),
          job.error ?? "no reason was recorded",
        ),
      );
    }
    if (statusChanged && job.status === "succeeded") await showResult(job);
  };

  /** @param {Job} done */
  const showResult = async (done) => {
    try {
      version = await versionOf(done);
      const href = `#/models/${encodeURIComponent(done.model)}/versions/${done.version}`;
      replace(
        links,
        h(
          "a",
          { class: "button primary", href },
          version?.evaluation ? "See the evaluation" : "Open the version",
        ),
      );
      if (version?.status === "ready") replace(panelSlot, tryItPanel(done.model, version));
    } catch (error) {
      replace(panelSlot, problemView(error));
    }
  };

  await followJob(id, {
    signal,
    onConnection: (state) => {
      connection.textContent = state === "open" ? "" : "Connection lost; reconnecting…";
    },
    onEvent: (name, data, { resumed }) => {
      if (name === "snapshot") {
        // After a reconnect the snapshot holds only the epochs this page has not drawn.
        if (!resumed) {
          lossChart.reset();
          secondChart?.reset();
        }
        data.epochs.forEach(addEpoch);
        void showJob(data.job);
      } else if (name === "epoch") {
        addEpoch(data);
        if (job)
          void showJob({ ...job, progress: { ...job.progress, epoch: data.epoch }, metrics: data });
      } else if (name === "restart") {
        lossChart.reset();
        secondChart?.reset();
        void showJob(data.job);
        announce("A new attempt started; the curves start again");
      } else if (name === "status" || name === "end") {
        void showJob(data.job);
        announce(`Job ${data.job.status}`);
      }
    },
  });
}
