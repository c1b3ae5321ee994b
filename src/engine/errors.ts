/**
 * The two ways the engine refuses to go on. `EngineError` is a bad argument and names the
 * offending field as a path (`layers[1].units`, `data.inputs[3][2]`) so the service can hand it
 * back to the client as is. `TrainingDivergedError` is not the caller's fault in the same way:
 * the arguments were valid but the numbers blew up, and the message says where.
 */

export class EngineError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "EngineError";
    this.field = field;
  }
}

export class TrainingDivergedError extends Error {
  readonly epoch: number;
  readonly batch: number;

  constructor(epoch: number, batch: number, what: string) {
    super(
      `training diverged at epoch ${epoch}, batch ${batch}: ${what} is not finite ` +
        "(try a smaller learning rate, gradient clipping or scaled inputs)",
    );
    this.name = "TrainingDivergedError";
    this.epoch = epoch;
    this.batch = batch;
  }
}
