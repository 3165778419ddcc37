/** One run per key at a time: concurrent callers with the same key share the run in flight and its result. */

export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>();

  /** Runs `task` for `key`, or joins the run already in flight for it. */
  run(key: string, task: () => Promise<T>): Promise<T> {
    const existing = this.#inFlight.get(key);
    if (existing) return existing;
    const run = task().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, run);
    return run;
  }

  /** Runs in flight now. */
  get size(): number {
    return this.#inFlight.size;
  }
}
