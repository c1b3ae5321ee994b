/**
 * The figures of `npm run bench:study`: one run is one study (a dataset, a scheduler, a seed);
 * the table sets ASHA and random search side by side per dataset as mean ± sample standard
 * deviation over the seeds, and the per-seed detail under it.
 */

export type SchedulerName = "asha" | "random";

export interface Run {
  dataset: string;
  scheduler: SchedulerName;
  seed: number;
  status: string;
  /** The study's best objective (valLoss here) over every rung result of every trial. */
  bestMetric: number | null;
  bestTrial: number | null;
  /** Epochs the winning result had trained. */
  bestEpochs: number | null;
  /** The winner's version's evaluation on its own held-back test rows: accuracy, or R². */
  testScore: number | null;
  /** The winner on the bench's holdout (the same rows for every study): accuracy, or R². */
  holdoutScore: number | null;
  /** The best trial by its top-rung objective, on the holdout (random: the winner). */
  topRungHoldout: number | null;
  epochsSpent: number;
  epochsIfExhaustive: number;
  /** Segments (training jobs) the study ran. */
  segments: number;
  /** Created to finished, as the service recorded them. */
  seconds: number;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

function sd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** "mean ± sd" of the finite values, or "n/a". */
export function spread(values: (number | null)[], digits: number): string {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (xs.length === 0) return "n/a";
  return `${mean(xs).toFixed(digits)} ± ${sd(xs).toFixed(digits)}`;
}

function ofRuns(runs: Run[], dataset: string, scheduler: SchedulerName): Run[] {
  return runs.filter((r) => r.dataset === dataset && r.scheduler === scheduler);
}

/** The side-by-side table: one row per dataset and scheduler. */
export function summaryTable(runs: Run[], scoreName: (dataset: string) => string): string[] {
  const lines = [
    "| dataset | scheduler | best valLoss | winner: own test rows | winner: holdout | epochs spent | epochs if exhaustive | share | segments | wall s |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const datasets = [...new Set(runs.map((r) => r.dataset))];
  for (const dataset of datasets) {
    for (const scheduler of ["asha", "random"] as const) {
      const rs = ofRuns(runs, dataset, scheduler);
      if (rs.length === 0) continue;
      const cells = [
        dataset,
        scheduler,
        spread(
          rs.map((r) => r.bestMetric),
          4,
        ),
        `${spread(
          rs.map((r) => r.testScore),
          4,
        )} (${scoreName(dataset)})`,
        spread(
          rs.map((r) => r.holdoutScore),
          4,
        ),
        spread(
          rs.map((r) => r.epochsSpent),
          0,
        ),
        String(rs[0]!.epochsIfExhaustive),
        spread(
          rs.map((r) => r.epochsSpent / r.epochsIfExhaustive),
          2,
        ),
        spread(
          rs.map((r) => r.segments),
          1,
        ),
        spread(
          rs.map((r) => r.seconds),
          1,
        ),
      ];
      lines.push(`| ${cells.join(" | ")} |`);
    }
  }
  return lines;
}

/**
 * Per dataset, paired by seed (the same sampled trials): ASHA's epochs over random search's and
 * the differences ASHA − random of the winners' scores, as mean ± sd over the seeds.
 */
export function pairedLines(runs: Run[]): string[] {
  const lines = [
    "| dataset | seeds | ASHA epochs / random | holdout ASHA − random | own test rows ASHA − random | holdout, ASHA's top-rung winner − random | best valLoss ASHA − random | wall ASHA / random |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const datasets = [...new Set(runs.map((r) => r.dataset))];
  for (const dataset of datasets) {
    const pairs = ofRuns(runs, dataset, "asha").flatMap((a) => {
      const r = ofRuns(runs, dataset, "random").find((x) => x.seed === a.seed);
      return r ? [{ a, r }] : [];
    });
    if (pairs.length === 0) continue;
    const diff = (f: (run: Run) => number | null, g = f) =>
      spread(
        pairs.map(({ a, r }) => {
          const x = f(a);
          const y = g(r);
          return x === null || y === null ? null : x - y;
        }),
        4,
      );
    const ratio = (f: (run: Run) => number, digits: number) =>
      spread(
        pairs.map(({ a, r }) => f(a) / f(r)),
        digits,
      );
    const cells = [
      dataset,
      pairs.map((p) => p.a.seed).join(","),
      ratio((run) => run.epochsSpent, 3),
      diff((run) => run.holdoutScore),
      diff((run) => run.testScore),
      diff(
        (run) => run.topRungHoldout,
        (run) => run.holdoutScore,
      ),
      diff((run) => run.bestMetric),
      ratio((run) => run.seconds, 2),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines;
}

/** Every run on its own line. */
export function detailLines(runs: Run[]): string[] {
  const lines = [
    "| dataset | scheduler | seed | status | best valLoss | best trial | its epochs | own test rows | holdout | top-rung winner holdout | epochs spent | segments | wall s |",
    "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const f = (v: number | null, digits = 4) => (v === null ? "n/a" : v.toFixed(digits));
  for (const r of runs) {
    const cells = [
      r.dataset,
      r.scheduler,
      r.seed,
      r.status,
      f(r.bestMetric),
      r.bestTrial ?? "n/a",
      r.bestEpochs ?? "n/a",
      f(r.testScore),
      f(r.holdoutScore),
      f(r.topRungHoldout),
      r.epochsSpent,
      r.segments,
      r.seconds.toFixed(1),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines;
}
