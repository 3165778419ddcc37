/**
 * Keeps the origin's own store collection (store-gc.ts) out of the moments when a path it needs
 * has no GC root yet: between nix adding a path (an evaluation writing .drv files, a git source
 * added) and the root the origin puts on it right after. Those steps share the gate; a collection
 * takes it alone, and once one waits no new step starts (so collections are never starved). The
 * steps are short (an evaluation at most NIX_TIMEOUT); builds do not hold the gate: their paths
 * have roots.
 */

export class StoreGate {
  #shared = 0;
  #exclusive = false;
  #waitingExclusive = 0;
  #wakers: (() => void)[] = [];

  /** Runs `step` alongside other steps, never during a collection. */
  async shared<T>(step: () => Promise<T>): Promise<T> {
    while (this.#exclusive || this.#waitingExclusive > 0) await this.#wait();
    this.#shared += 1;
    try {
      return await step();
    } finally {
      this.#shared -= 1;
      this.#wake();
    }
  }

  /** Runs `collection` once no step is under way, with none starting until it is done. */
  async exclusive<T>(collection: () => Promise<T>): Promise<T> {
    this.#waitingExclusive += 1;
    try {
      while (this.#exclusive || this.#shared > 0) await this.#wait();
    } finally {
      this.#waitingExclusive -= 1;
    }
    this.#exclusive = true;
    try {
      return await collection();
    } finally {
      this.#exclusive = false;
      this.#wake();
    }
  }

  /** Resolves at the next change of state. */
  #wait(): Promise<void> {
    return new Promise((resolve) => this.#wakers.push(resolve));
  }

  /** Lets every waiter look again. */
  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }
}

/** The process's one gate (nix's store is one per machine). */
export const storeGate = new StoreGate();
