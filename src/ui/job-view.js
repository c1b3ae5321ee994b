import { api, followJob } from "./api.js";
import { metricChart } from "./chart.js";
import {
  announce,
  formatDuration,
  formatTime,
  h,
  metricList,
  replace,
  statusBadge,
} from "./dom.js";
import { progressBar } from "./jobs-view.js";
import { problemView, tryItPanel } from "./try-it.js";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/**
 * #/jobs/{id}: the job's state and its curves, live from GET /jobs/{id}/events. The loss chart
 * always; accuracy for classifiers, MAE for regressors, once an epoch shows which it is.
 */
export async function jobView(main, id, signal) {
  const heading = h("h1", { tabindex: "-1" }, "Job");
  const statusLine = h("p", {
    id: "job-status",
    role: "status",
    "aria-live": "polite",
    class: "row",
  });
  const progress = h("div", { class: "row" });
  const times = h("p", { class: "meta" });
  const latest = h("div");
  const errorSlot = h("div");
  const connection = h("p", { class: "chart-latest", "aria-live": "polite" });
  const lossChart = metricChart("Loss", [
    { key: "loss", label: "loss" },
    { key: "valLoss", label: "val loss" },
  ]);
  lossChart.el.id = "chart-loss";
  const charts = h("div", { class: "charts" }, lossChart.el);
  let secondChart;
  const panelSlot = h("div");
  const cancel = h("button", { type: "button", class: "secondary", hidden: true }, "Cancel job");
  let job;

  replace(
    main,
    h("p", {}, h("a", { href: "#/jobs" }, "← All jobs")),
    heading,
    statusLine,
    progress,
    times,
    h("div", { class: "row" }, cancel),
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
      showJob(await api("POST", `/jobs/${id}/cancel`));
    } catch (error) {
      cancel.disabled = false;
      replace(errorSlot, problemView(error));
    }
  });

  const ensureSecondChart = (epoch) => {
    if (secondChart) return;
    if (epoch.accuracy !== undefined) {
      secondChart = metricChart("Accuracy", [
        { key: "accuracy", label: "accuracy" },
        { key: "valAccuracy", label: "val accuracy" },
      ]);
      secondChart.el.id = "chart-accuracy";
    } else if (epoch.mae !== undefined) {
      secondChart = metricChart("Mean absolute error", [
        { key: "mae", label: "MAE" },
        { key: "valMae", label: "val MAE" },
      ]);
      secondChart.el.id = "chart-mae";
    } else return;
    charts.append(secondChart.el);
  };
  const addEpoch = (epoch) => {
    ensureSecondChart(epoch);
    lossChart.push(epoch);
    secondChart?.push(epoch);
  };

  const showJob = async (next) => {
    const statusChanged = job?.status !== next.status;
    job = next;
    heading.textContent = `Job: ${job.model} v${job.version}`;
    replace(
      statusLine,
      "Status: ",
      statusBadge(job.status),
      job.cancelRequested && !FINISHED.has(job.status) ? " (cancel requested)" : "",
    );
    replace(
      progress,
      progressBar(job, "job-progress"),
      ` epoch ${job.progress.epoch} of ${job.progress.epochs} · attempt ${job.attempts}`,
    );
    replace(
      times,
      `created ${formatTime(job.createdAt)} · started ${formatTime(job.startedAt)} · finished ${formatTime(job.finishedAt)} · took ${formatDuration(job.startedAt, job.finishedAt)}`,
    );
    replace(latest, metricList(job.metrics));
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
    if (statusChanged && job.status === "succeeded") await showTryIt();
  };

  const showTryIt = async () => {
    try {
      const model = await api("GET", `/models/${encodeURIComponent(job.model)}`);
      const version = model.versions.find((v) => v.version === job.version);
      if (version?.status === "ready") replace(panelSlot, tryItPanel(job.model, version));
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
