/**
 * A train request put to the engine's own checks at submit: the network (an elu alpha of 1e308,
 * say) and the optimizer, with the rules the worker thread applies, so that what the engine
 * would refuse is a 400 naming the field now, not a 202 and a failed job using up a version.
 */
import { EngineError, normalizeNetworkSpec, resolveOptimizer } from "../engine/index.ts";
import { validationError } from "../platform/errors.ts";

/**
 * Throws a validation error naming the field the engine refuses; `inputs` is the final width.
 * The network is the one the version predicts with (dropout, a training setting, taken out).
 */
export function checkWithEngine(
  req: { network: { layers: readonly object[] }; optimizer: unknown },
  inputs: number,
): void {
  try {
    normalizeNetworkSpec({ inputs, layers: req.network.layers }, "network.");
    resolveOptimizer(req.optimizer, "optimizer");
  } catch (error) {
    if (!(error instanceof EngineError)) throw error;
    const message = error.message.slice(error.field.length + 2);
    throw validationError(
      [{ path: error.field, message }],
      `Invalid request: ${error.field} ${message}.`,
    );
  }
}
