/** A one-waiter wake-up, how the tar producer and its read-ahead wait for each other and for the output. */

/** A wake-up for one waiter at a time: `wait` resolves at the next `notify`. */
export class Signal {
  #resolve: (() => void) | undefined;

  /** Resolves at the next `notify` (replacing any earlier waiter, which then never resolves). */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Wakes the waiter, if any. */
  notify(): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.();
  }
}
