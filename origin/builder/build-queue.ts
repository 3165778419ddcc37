/**
 * Single flight and back-pressure for builds: one build per key at a time (concurrent requests
 * for the same image share it), at most `concurrency` builds running, at most `maxQueued`
 * waiting; past that a request is refused with 429 TOOMANYREQUESTS and a Retry-After.
 */

import { RegistryError } from '../../shared/errors.ts';

export interface BuildQueueOptions {
  concurrency: number;
  maxQueued: number;
  /** Seconds a refused client is told to wait. */
  retryAfterSeconds: number;
  /** What the refusal says the registry is busy with (default: "building too many images"). */
  busyWith?: string;
}

export class BuildQueue {
  readonly #options: BuildQueueOptions;
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  constructor(options: BuildQueueOptions) {
    this.#options = options;
  }

  /** Builds currently running and waiting (for metrics and tests). */
  get stats(): { running: number; queued: number; inFlight: number } {
    return { running: this.#running, queued: this.#waiting.length, inFlight: this.#inFlight.size };
  }

  /** Runs `task` for `key`, or joins the run already in flight for it. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const existing = this.#inFlight.get(key);
    if (existing) return existing as Promise<T>;
    if (this.#running >= this.#options.concurrency && this.#waiting.length >= this.#options.maxQueued) {
      return Promise.reject(
        new RegistryError('TOOMANYREQUESTS', `The registry is ${this.#options.busyWith ?? 'building too many images'}; retry shortly`, {
          headers: { 'Retry-After': String(this.#options.retryAfterSeconds) },
        }),
      );
    }
    const run = this.#runWhenFree(task).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, run);
    return run;
  }

  async #runWhenFree<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#options.concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.#running -= 1;
    }
  }
}
