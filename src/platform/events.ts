/**
 * Domain events: what one feature tells the others without importing them. A feature that
 * changes something others cache (a version became ready, a model was deleted) emits here; the
 * composition root (app.ts) subscribes the features that care. Within one process only: other
 * replicas learn the same facts from Postgres (the prediction resolver's TTL), never from this.
 */
import { EventEmitter } from "node:events";

export interface DomainEventMap {
  /** A version became ready to serve (its job succeeded, or its file was imported). */
  versionReady: [{ versionId: string }];
  /** `model` and all its versions are gone. */
  modelDeleted: [{ model: string }];
  /** Which version answers `model` by default may have changed (an alias, a split, a deletion). */
  routingChanged: [{ model: string }];
}

export type DomainEvent = keyof DomainEventMap;

/** A typed emitter whose listeners never break the emitter: a throwing listener is reported. */
export class DomainEvents {
  // Untyped inside; `on` and `emit` below are the typed surface.
  readonly #emitter = new EventEmitter();
  readonly #onListenerError: (event: DomainEvent, error: unknown) => void;

  constructor(onListenerError: (event: DomainEvent, error: unknown) => void = () => {}) {
    this.#onListenerError = onListenerError;
  }

  on<E extends DomainEvent>(event: E, listener: (...args: DomainEventMap[E]) => void): () => void {
    const safe = (...args: DomainEventMap[E]) => {
      try {
        listener(...args);
      } catch (error) {
        this.#onListenerError(event, error);
      }
    };
    this.#emitter.on(event, safe);
    return () => this.#emitter.off(event, safe);
  }

  emit<E extends DomainEvent>(event: E, ...args: DomainEventMap[E]): void {
    this.#emitter.emit(event, ...args);
  }
}
