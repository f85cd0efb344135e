/** A listener for one event type. */
export type Listener<T> = (event: T) => void;

/**
 * A small typed event emitter that runs the same in browsers and Node (no `node:events`).
 * A listener that throws is reported asynchronously, so it cannot leave the emitter's
 * owner half-way through applying a message.
 */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  /** Calls every listener of `type` with `event`. */
  protected emit<K extends keyof Events>(type: K, event: Events[K]): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(event);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Removes every listener, so a closed owner holds no references to its callers. */
  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
