/**
 * Per-version figures of this process, for GET /models/{name}/traffic: requests, errors and
 * latency percentiles of each version that answered, and for a shadow how often it agreed with
 * the version that answered. Kept in memory per replica (Prometheus sums replicas:
 * nnserve_predictions_total, nnserve_shadow_agreement); latencies are the last LATENCIES_KEPT of
 * each version, so percentiles follow the current traffic, not the process's whole life.
 */
const LATENCIES_KEPT = 1024;

export interface VersionFigures {
  version: number;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ShadowFigures {
  version: number;
  /** Requests copied to the shadow, and those whose shadow run failed. */
  requests: number;
  errors: number;
  /** Copies not run because too many shadow runs were already under way. */
  skipped: number;
  rowsCompared: number;
  /** Classifiers: the share of rows where the shadow's class equals the answer's. */
  labelAgreement: number | null;
  /** Regressors: the mean absolute difference of the outputs. */
  meanAbsoluteDifference: number | null;
}

/** What a shadow run and its answer compare to; see compareOutputs. */
export interface Comparison {
  rows: number;
  /** Rows with the same class (classifiers). */
  agreeing?: number;
  /** Sum of |shadow - answer| over `values` outputs (regressors). */
  absDiffSum?: number;
  values?: number;
}

class Served {
  requests = 0;
  errors = 0;
  readonly latencies = new Float64Array(LATENCIES_KEPT);
  count = 0;

  add(ms: number, ok: boolean) {
    this.requests++;
    if (!ok) this.errors++;
    this.latencies[this.count++ % LATENCIES_KEPT] = ms;
  }

  view(version: number): VersionFigures {
    const kept = this.latencies.slice(0, Math.min(this.count, LATENCIES_KEPT)).sort();
    const at = (q: number) =>
      kept.length === 0
        ? null
        : round(kept[Math.min(kept.length - 1, Math.floor(q * kept.length))]!);
    return {
      version,
      requests: this.requests,
      errors: this.errors,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
    };
  }
}

class Shadowed {
  requests = 0;
  errors = 0;
  skipped = 0;
  rows = 0;
  classified = 0;
  agreeing = 0;
  absDiffSum = 0;
  values = 0;

  view(version: number): ShadowFigures {
    return {
      version,
      requests: this.requests,
      errors: this.errors,
      skipped: this.skipped,
      rowsCompared: this.rows,
      labelAgreement: this.classified > 0 ? this.agreeing / this.classified : null,
      meanAbsoluteDifference: this.values > 0 ? this.absDiffSum / this.values : null,
    };
  }
}

export class TrafficFigures {
  readonly #served = new Map<string, Map<number, Served>>();
  readonly #shadowed = new Map<string, Map<number, Shadowed>>();

  served(model: string, version: number, ms: number, ok: boolean): void {
    entry(this.#served, model, version, () => new Served()).add(ms, ok);
  }

  shadowSkipped(model: string, version: number): void {
    const s = entry(this.#shadowed, model, version, () => new Shadowed());
    s.requests++;
    s.skipped++;
  }

  /** A shadow run's outcome: its comparison with the answer, or undefined when it failed. */
  shadowed(model: string, version: number, comparison: Comparison | undefined): Shadowed {
    const s = entry(this.#shadowed, model, version, () => new Shadowed());
    s.requests++;
    if (!comparison) {
      s.errors++;
      return s;
    }
    s.rows += comparison.rows;
    if (comparison.agreeing !== undefined) {
      s.classified += comparison.rows;
      s.agreeing += comparison.agreeing;
    }
    if (comparison.absDiffSum !== undefined) {
      s.absDiffSum += comparison.absDiffSum;
      s.values += comparison.values ?? 0;
    }
    return s;
  }

  of(model: string): { versions: VersionFigures[]; shadows: ShadowFigures[] } {
    const views = <T, V>(map: Map<number, T> | undefined, view: (t: T, v: number) => V) =>
      [...(map ?? new Map<number, T>())].sort(([a], [b]) => a - b).map(([v, t]) => view(t, v));
    return {
      versions: views(this.#served.get(model), (s, v) => s.view(v)),
      shadows: views(this.#shadowed.get(model), (s, v) => s.view(v)),
    };
  }

  dropModel(model: string): void {
    this.#served.delete(model);
    this.#shadowed.delete(model);
  }
}

function entry<T>(
  maps: Map<string, Map<number, T>>,
  model: string,
  version: number,
  make: () => T,
): T {
  let byVersion = maps.get(model);
  if (!byVersion) {
    byVersion = new Map();
    maps.set(model, byVersion);
  }
  let found = byVersion.get(version);
  if (!found) {
    found = make();
    byVersion.set(version, found);
  }
  return found;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
