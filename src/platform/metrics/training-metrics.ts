/**
 * nnserve_training_*: this process's runner (attempts, epochs, samples, throughput) and, read
 * from Postgres at scrape time, the jobs of every replica.
 */
import { Counter, Gauge, type Registry } from "prom-client";

export interface JobCounts {
  byStatus: Record<string, number>;
  /** Queued jobs whose run time has come. */
  due: number;
}

export interface TrainingObserver {
  /** One finished epoch of a job over `samples` training rows. */
  epoch(jobId: string, durationMs: number, samples: number): void;
  jobEnd(jobId: string, outcome: string): void;
}

const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

export class TrainingMetrics implements TrainingObserver {
  private readonly attempts: Counter<"outcome">;
  private readonly epochs: Counter;
  private readonly samples: Counter;
  /** Samples per second of each running job's last epoch. */
  private readonly rates = new Map<string, number>();

  constructor(registers: Registry[]) {
    this.attempts = new Counter({
      name: "nnserve_training_job_attempts_total",
      help: "Training job attempts this process ended, by outcome.",
      labelNames: ["outcome"] as const,
      registers,
    });
    this.epochs = new Counter({
      name: "nnserve_training_epochs_total",
      help: "Training epochs finished in this process.",
      registers,
    });
    this.samples = new Counter({
      name: "nnserve_training_samples_total",
      help: "Training rows processed in this process (rows x epochs).",
      registers,
    });
    const rates = this.rates;
    new Gauge({
      name: "nnserve_training_samples_per_second",
      help: "Training throughput of the jobs running in this process, from each one's last epoch.",
      registers,
      collect() {
        let sum = 0;
        for (const rate of rates.values()) sum += rate;
        this.set(sum);
      },
    });
  }

  readonly epoch = (jobId: string, durationMs: number, rows: number): void => {
    this.epochs.inc();
    this.samples.inc(rows);
    if (durationMs > 0) this.rates.set(jobId, (rows * 1000) / durationMs);
  };

  readonly jobEnd = (jobId: string, outcome: string): void => {
    this.attempts.inc({ outcome });
    this.rates.delete(jobId);
  };
}

/** nnserve_training_jobs{status} and nnserve_training_queue_depth, one count per scrape. */
export function registerJobGauges(
  jobCounts: () => Promise<JobCounts>,
  registers: Registry[],
): void {
  let reading: Promise<JobCounts | undefined> | undefined;
  const read = () => {
    reading ??= jobCounts()
      .catch(() => undefined)
      .finally(() => {
        setImmediate(() => {
          reading = undefined;
        });
      });
    return reading;
  };
  // Every serving process of a cluster reads the same table: aggregated, one count, not a sum.
  new Gauge({
    name: "nnserve_training_jobs",
    help: "Training jobs by status, across all replicas (read from Postgres at scrape time).",
    labelNames: ["status"] as const,
    aggregator: "max",
    registers,
    async collect() {
      const counts = await read();
      this.reset();
      if (!counts) return;
      for (const status of JOB_STATUSES) this.set({ status }, counts.byStatus[status] ?? 0);
    },
  });
  new Gauge({
    name: "nnserve_training_queue_depth",
    help: "Queued training jobs whose run time has come, across all replicas.",
    aggregator: "max",
    registers,
    async collect() {
      const counts = await read();
      this.reset();
      if (counts) this.set(counts.due);
    },
  });
}
