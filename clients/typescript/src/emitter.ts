/**
 * A small typed event emitter (no dependency, works in browsers and Node).
 *
 * @module
 */

/** A listener of an event whose payload is `T`. */
export type Listener<T> = (payload: T) => void;

/**
 * Emits events named by the keys of `Events`, each with its payload type.
 *
 * ```ts
 * const e = new Emitter<{ tick: number }>();
 * const off = e.on("tick", (n) => console.log(n));
 * e.emit("tick", 1);
 * off();
 * ```
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs once; returns a function that removes it. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** Removes a listener. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  /**
   * Calls every listener of `event` with `payload`. A listener that throws does not stop the
   * others; its error is reported asynchronously (as an uncaught error), not swallowed.
   */
  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
