/** nnserve_engine_backend{backend}: which kernels this process's networks run on. */
import { Gauge, type Registry } from "prom-client";

export function registerEngineGauge(backend: string, registers: Registry[]): void {
  // Every process of a cluster runs the same build on the same CPU: one series, not a sum.
  new Gauge({
    name: "nnserve_engine_backend",
    help: "The engine's kernel backend in this process (1 for the one in use).",
    labelNames: ["backend"],
    registers,
    aggregator: "max",
  }).set({ backend }, 1);
}
