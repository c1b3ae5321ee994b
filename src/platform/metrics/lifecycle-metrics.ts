import { Counter, Gauge, type Registry } from "prom-client";

/**
 * Issue 20's series, on an existing registry (kept apart from createMetrics so the two change
 * independently): requests answered per version, and each shadow's agreement with the version
 * that answered.
 *
 *   nnserve_predictions_total{model,version,outcome}   outcome: ok | error
 *   nnserve_shadow_agreement{model,version}            share of rows with the same class (classifiers)
 *   nnserve_shadow_mean_abs_difference{model,version}  mean |shadow - answer| (regressors)
 */
export function createLifecycleMetrics(registry: Registry) {
  const predictions = new Counter({
    name: "nnserve_predictions_total",
    help: "Prediction requests answered, by the version that answered.",
    labelNames: ["model", "version", "outcome"] as const,
    registers: [registry],
  });
  const agreement = new Gauge({
    name: "nnserve_shadow_agreement",
    help: "Share of compared rows where the shadow version's class equals the answer's.",
    labelNames: ["model", "version"] as const,
    registers: [registry],
    // Serving processes (SERVE_PROCESSES) each compare their own share: a sum would exceed 1.
    aggregator: "average",
  });
  const difference = new Gauge({
    name: "nnserve_shadow_mean_abs_difference",
    help: "Mean absolute difference between the shadow version's outputs and the answer's.",
    labelNames: ["model", "version"] as const,
    registers: [registry],
    aggregator: "average",
  });
  return {
    served(model: string, version: number, ok: boolean) {
      predictions.inc({ model, version: String(version), outcome: ok ? "ok" : "error" });
    },
    shadowCompared(model: string, version: number, share: number | null, mad: number | null) {
      const labels = { model, version: String(version) };
      if (share !== null) agreement.set(labels, share);
      if (mad !== null) difference.set(labels, mad);
    },
  };
}
